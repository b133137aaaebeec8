/*
 * Tiny growable byte buffers and socket helpers shared by the bench's C
 * programs (sink.c, load.c).  Header-only; nothing here is part of smspool.
 */
#ifndef BENCH_NETBUF_H
#define BENCH_NETBUF_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct nbuf {
	uint8_t *d;
	size_t off, len, cap; /* live bytes are d[off .. off+len) */
};

static inline void nbuf_reserve(struct nbuf *b, size_t need)
{
	if (b->off + b->len + need <= b->cap)
		return;
	if (b->off) { /* compact first */
		memmove(b->d, b->d + b->off, b->len);
		b->off = 0;
		if (b->len + need <= b->cap)
			return;
	}
	size_t cap = b->cap ? b->cap : 65536;
	while (cap < b->len + need)
		cap *= 2;
	uint8_t *d = realloc(b->d, cap);
	if (!d) {
		perror("realloc");
		exit(1);
	}
	b->d = d;
	b->cap = cap;
}

static inline uint8_t *nbuf_tail(struct nbuf *b)
{
	return b->d + b->off + b->len;
}
static inline size_t nbuf_room(const struct nbuf *b)
{
	return b->cap - b->off - b->len;
}
static inline void nbuf_consume(struct nbuf *b, size_t n)
{
	b->off += n;
	b->len -= n;
	if (!b->len)
		b->off = 0;
}

/* Reads what the socket has.  Returns >0 bytes read, 0 on EOF, -1 on EAGAIN, -2 on error. */
static inline ssize_t nbuf_read(struct nbuf *b, int fd)
{
	nbuf_reserve(b, 65536);
	ssize_t n = read(fd, nbuf_tail(b), nbuf_room(b));
	if (n > 0) {
		b->len += (size_t)n;
		return n;
	}
	if (n == 0)
		return 0;
	return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? -1 : -2;
}

/* Writes what it can.  Returns 0 (maybe data left) or -1 on a hard error. */
static inline int nbuf_flush(struct nbuf *b, int fd)
{
	while (b->len) {
		ssize_t n = write(fd, b->d + b->off, b->len);
		if (n > 0) {
			nbuf_consume(b, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return 0;
		return -1;
	}
	return 0;
}

static inline uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static inline uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static inline uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#endif
