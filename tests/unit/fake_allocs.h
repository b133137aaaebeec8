/* allocs_live(): the allocations not freed yet, counted by this file's
 * malloc, calloc, realloc and free (glibc's, wrapped), for a test that
 * runs a scenario twice and wants the second run to leave nothing behind
 * (the first warms up what libraries allocate once).  Under ASan or TSan,
 * whose allocators must stay in place, it is always 0 and LeakSanitizer
 * does the check at exit instead.  Included once by a test file. */
#ifndef SMSPOOL_TEST_FAKE_ALLOCS_H
#define SMSPOOL_TEST_FAKE_ALLOCS_H

#include <stddef.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define FAKE_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FAKE_SANITIZED 1
#endif

#ifndef FAKE_SANITIZED
static long fake_live;
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);

void *malloc(size_t n)
{
	void *p = __libc_malloc(n);
	fake_live += p != NULL;
	return p;
}
void *calloc(size_t n, size_t size)
{
	void *p = __libc_calloc(n, size);
	fake_live += p != NULL;
	return p;
}
void *realloc(void *old, size_t n)
{
	void *p = __libc_realloc(old, n);
	if (!old && p)
		fake_live++;
	else if (old && !p && n == 0)
		fake_live--; /* glibc frees old */
	return p;
}
void free(void *p)
{
	fake_live -= p != NULL;
	__libc_free(p);
}
static long allocs_live(void)
{
	return fake_live;
}
#else
static long allocs_live(void)
{
	return 0;
}
#endif

#endif
