/*
 * utf8: strict UTF-8 decoding and encoding of single code points, shared by
 * the SMS codecs.  Strict means: no overlong forms, no surrogates (U+D800..
 * U+DFFF), nothing above U+10FFFF, no truncated sequences.  Text from the
 * outside world goes through here, so bad input is an error, never a crash.
 */
#ifndef SMSPOOL_CODEC_UTF8_H
#define SMSPOOL_CODEC_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decodes the code point at s[*pos] (s has len bytes) into *cp and advances
 * *pos.  Returns 0, or -EILSEQ on an invalid or truncated sequence (then
 * *pos is left unchanged). */
int utf8_decode_next(const char *s, size_t len, size_t *pos, uint32_t *cp);

/* Encodes cp (must be a Unicode scalar value) into out, which needs room
 * for 4 bytes.  Returns the number of bytes written (1..4). */
size_t utf8_encode(uint32_t cp, char *out);

/* Checks that the whole buffer is valid UTF-8.  Returns 0 or -EILSEQ; on
 * error *bad_at (may be NULL) receives the offset of the bad sequence. */
int utf8_validate(const char *s, size_t len, size_t *bad_at);

/* What utf8_sanitize keeps of the control characters (C0, DEL and C1). */
enum utf8_sanitize_flags {
	UTF8_KEEP_NEWLINES = 1 << 0, /* CR, LF and TAB: message texts */
	UTF8_KEEP_US = 1 << 1,       /* U+001F: the separator of joined remote ids */
};

/* Returns a new string (caller frees; NULL for NULL) that is valid UTF-8
 * and safe to store and log: every byte of an invalid or truncated sequence
 * becomes the four characters "\xNN" (a backslash, x and two hex digits),
 * and control characters are dropped except those flags keep.  Strings that
 * come from a peer pass through here before they reach the database, where
 * one bad byte would fail a whole batch statement. */
char *utf8_sanitize(const char *s, unsigned flags);

#endif
