# SPDX-License-Identifier: BSD-2-Clause
# Shell functions shared by the fault tests (tests/faults/*.sh), on top of
# tests/icap/lib.sh's reporting (gn_ok, gn_fail, gn_finish, gn_skip), its
# temporary directory GN_T (gn_setup: removed at exit with every PID in
# GN_PIDS terminated) and its c-icap functions: what makes a fault test skip,
# known defects of other programs, and valgrind's settings.
# Squid tests set GN_T=$SQ_DIR (tests/lib/squid-env.sh) before reporting.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/tests/icap/lib.sh"

# A known defect of another program (Squid, c-icap): reported, failing the
# test only with GN_FAULTS_STRICT=1.
gf_xfail()
{
	echo "XFAIL: $*"
	[ "${GN_FAULTS_STRICT:-0}" != 1 ] || GN_FAILS=$((GN_FAILS + 1))
}

# gf_need TOOL...: skip unless every tool is installed.
gf_need()
{
	for _t in "$@"; do
		command -v "$_t" > /dev/null 2>&1 || gn_skip "$_t is not installed"
	done
}

# The helper under test, in GF_HELPER; not built is an error (make builds it first).
gf_need_helper()
{
	GF_HELPER=$top_builddir/ext_gotonet_acl
	if [ ! -x "$GF_HELPER" ]; then
		echo "ERROR: $GF_HELPER is not built" >&2
		exit 99
	fi
}

# gf_need_valgrind FILE...: skip without valgrind, or when a FILE comes from
# the sanitizer build (valgrind and ASan do not mix; the sanitizer run of the
# same tests covers it). Sets GF_VG, the memcheck command every test uses:
# memory errors and definite or indirect leaks make it exit 99.
gf_need_valgrind()
{
	command -v valgrind > /dev/null 2>&1 ||
	    gn_skip "valgrind not found (install the Debian package valgrind)"
	for _f in "$@"; do
		if grep -q __asan_init "$_f" 2> /dev/null ||
		    nm -D "$_f" 2> /dev/null | grep -q ' U __asan_' ||
		    ldd "$_f" 2> /dev/null | grep -q libasan; then
			gn_skip "sanitizer build of $(basename "$_f") (valgrind and ASan do not mix; the sanitizer run covers it)"
		fi
	done
	GF_VG="valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect"
}
