# SPDX-License-Identifier: BSD-2-Clause
# Scale-out: the real Squid in SMP mode (workers 2) with the helper, then with
# c-icap (2 children) in front, and the farm rollout recipe (contrib/rollout),
# tested in dry-run mode only.

gn_smp_tests = tests/smp/squid-smp.sh tests/smp/squid-smp-icap.sh tests/smp/rollout-dryrun.sh
TESTS += $(gn_smp_tests)
EXTRA_DIST += $(gn_smp_tests) tests/smp/smp-env.sh \
	contrib/rollout/README.md contrib/rollout/rollout.sh doc/scaling.md
