/* SPDX-License-Identifier: BSD-2-Clause */
/* Run saved fuzz inputs through a fuzz target without libFuzzer, for make check. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"

/*
 * Usage: replay [FILE|DIR]...
 * Without arguments, the target's corpus and crash inputs under
 * $top_srcdir/tests/fuzz. A target that finds a fault abort()s, so each
 * input runs in a child of its own: one failure does not hide the next, and
 * the log names every failing input.
 */
#ifndef GN_FUZZ_TARGET
#error "GN_FUZZ_TARGET must name the target, e.g. fuzz_rules"
#endif

static size_t nfailed;

static int
run_input(const char *path)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t len = 0;
	FILE *f;
	int rc = -1;

	if ((f = fopen(path, "rb")) == NULL || fstat(fileno(f), &st) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		goto end;
	}
	/* A copy of exactly the file's size, so that ASan sees reads past the end. */
	if ((buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1)) == NULL) {
		fprintf(stderr, "replay: %s: out of memory\n", path);
		goto end;
	}
	len = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f) || len != (size_t)st.st_size) {
		fprintf(stderr, "replay: %s: short read\n", path);
		goto end;
	}
	LLVMFuzzerTestOneInput(buf, len);
	rc = 0;
end:
	if (f != NULL)
		fclose(f);
	free(buf);
	return rc;
}

/* Run one input in a child; -1 only when it could not be run at all. */
static int
run_file(const char *path)
{
	pid_t pid;
	int status;

	fflush(NULL);
	if ((pid = fork()) == -1) {
		fprintf(stderr, "replay: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0)
		exit(run_input(path) == -1 ? 2 : 0);	/* exit(), not _exit(): LeakSanitizer runs at exit */
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			fprintf(stderr, "replay: waitpid: %s\n", strerror(errno));
			return -1;
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFSIGNALED(status))
		fprintf(stderr, "replay: FAIL: %s (signal %d)\n", path, WTERMSIG(status));
	else
		fprintf(stderr, "replay: FAIL: %s (exit %d)\n", path, WEXITSTATUS(status));
	nfailed++;
	return 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file in dir, in name order; a missing dir holds nothing. */
static int
run_dir(const char *dir, size_t *count)
{
	struct dirent *de;
	char **names = NULL, *path;
	size_t n = 0, i;
	DIR *d;
	int rc = 0;

	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		char **more;

		/* Dot files and the README that says what a directory is for are not inputs. */
		if (de->d_name[0] == '.' || strncmp(de->d_name, "README", 6) == 0)
			continue;
		if ((more = realloc(names, (n + 1) * sizeof(*names))) == NULL ||
		    (more[n] = strdup(de->d_name)) == NULL) {
			names = more ? more : names;
			rc = -1;
			break;
		}
		names = more;
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), name_cmp);	/* names is NULL when n is 0 */
	for (i = 0; i < n && rc == 0; i++) {
		if (asprintf(&path, "%s/%s", dir, names[i]) == -1) {
			rc = -1;
			break;
		}
		if (run_file(path) == -1)
			rc = -1;
		(*count)++;
		free(path);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

static int
run_path(const char *path, size_t *count)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		return run_dir(path, count);
	(*count)++;
	return run_file(path);
}

int
main(int argc, char **argv)
{
	const char *top = getenv("top_srcdir");
	size_t count = 0;
	char *path;
	int i, rc = 0;

	LLVMFuzzerInitialize(&argc, &argv);
	if (argc > 1) {
		for (i = 1; i < argc; i++)
			if (run_path(argv[i], &count) == -1)
				rc = 1;
	} else {
		static const char *const kinds[] = { "corpus", "crashes" };

		if (top == NULL)
			top = ".";
		for (i = 0; i < 2; i++) {
			if (asprintf(&path, "%s/tests/fuzz/%s/%s", top, kinds[i], GN_FUZZ_TARGET) == -1)
				return 1;
			if (run_dir(path, &count) == -1) {
				fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
				rc = 1;
			}
			free(path);
		}
		/* An empty corpus means the test is not looking where the inputs are. */
		if (count == 0) {
			fprintf(stderr, "replay: no inputs for %s under %s/tests/fuzz\n",
			    GN_FUZZ_TARGET, top);
			rc = 1;
		}
	}
	printf("replay %s: %zu inputs, %zu failed%s\n", GN_FUZZ_TARGET, count, nfailed,
	    rc ? ", and errors reading them" : "");
	return rc || nfailed ? 1 : 0;
}
