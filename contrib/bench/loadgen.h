/* SPDX-License-Identifier: BSD-2-Clause */
/* loadgen: what the load clients (e2eload, icapload, soakdrive) share: clock, worker threads, latencies, options, TCP. */
#ifndef GN_LOADGEN_H
#define GN_LOADGEN_H

#include <netinet/in.h>
#include <stddef.h>

/*
 * Latencies of one worker, then of the whole run. Starts zeroed; add with
 * gn_load_lat_add, gather with gn_load_lat_merge, and read percentiles
 * after gn_load_lat_sort. Release with gn_load_lat_free.
 */
struct gn_load_lat {
	double	*s;		/* seconds, one per successful operation */
	long	 n, cap;
	double	 sum;		/* seconds */
};

/*
 * Parse the number ARG of option -OPT, between MIN and MAX; a bad one exits 2
 * with "PROG: -OPT: ..." on stderr (atoi would take "8x" or "" silently).
 */
long	gn_load_num(const char *prog, int opt, const char *arg, long min, long max);
double	gn_load_seconds(const char *prog, int opt, const char *arg, double min);

/* Seconds since gn_load_run started its threads (0 before). */
double	gn_load_now(void);

/*
 * More work to do after DONE operations? COUNT 0 and DURATION 0 mean no
 * limit of that kind; the run stops at whichever limit comes first.
 */
int	gn_load_more(long count, double duration, long done);

/*
 * Start the clock, run FN in NTHREADS threads, the i-th on the i-th of the
 * WORKERS (an array of structs of SIZE bytes), and wait for them all.
 * Returns the elapsed seconds, or -1 (reported on stderr) when a thread
 * cannot be started; the threads already started are still waited for.
 */
double	gn_load_run(const char *prog, int nthreads, void *(*fn)(void *), void *workers, size_t size);

/* Record one operation of T seconds; exits 1 when out of memory. */
void	gn_load_lat_add(struct gn_load_lat *, double t);
/* Move SRC's samples to the end of DST; SRC is left empty. */
void	gn_load_lat_merge(struct gn_load_lat *dst, struct gn_load_lat *src);
void	gn_load_lat_sort(struct gn_load_lat *);
/* Nearest-rank percentile P (0-100) of a sorted set, in seconds; 0 if empty. */
double	gn_load_lat_pct(const struct gn_load_lat *, double p);
/* Mean in seconds; 0 if empty. */
double	gn_load_lat_mean(const struct gn_load_lat *);
void	gn_load_lat_free(struct gn_load_lat *);

/*
 * A TCP connection to DST:PORT with TCP_NODELAY, from SRC when it is not
 * INADDR_ANY, with send and receive timeouts of TIMEOUT seconds when it is
 * above 0 (so a stalled peer fails with EAGAIN). Addresses in network
 * order. Returns the socket, or -1 with errno set.
 */
int	gn_load_connect(in_addr_t dst, int port, in_addr_t src, double timeout);

/* Write all N bytes, through EINTR and short writes; 0 or -1 with errno. */
int	gn_load_write_all(int fd, const void *p, size_t n);

/* A connection's read buffer: answers arrive in pieces or back to back. */
struct gn_load_conn {
	int	fd;
	size_t	start, end;	/* the unread bytes are buf[start..end) */
	char	buf[65536];
};

/* Read more (moving the unread bytes to the front); -1 on EOF, an error or a full buffer. */
int	gn_load_fill(struct gn_load_conn *);
/* Read until N bytes are unread; -1 as gn_load_fill. */
int	gn_load_need(struct gn_load_conn *, size_t n);

#endif
