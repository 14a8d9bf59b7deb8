/* ct.h - the point where a value computed from a secret becomes public. Secret-dependent code in
 * this library has no branch and no memory index that depends on a secret (docs/security.md);
 * what it does decide from secrets is a public verdict, e.g. "this secret-key file is valid"
 * (the status it returns says so anyway). Such a verdict goes through beaa_ct_public, a separate
 * function that is never inlined: its one branch is the only place where a secret-derived bit
 * steers control flow, so the constant-time check (make ctgrind: Valgrind memcheck with the
 * secrets marked undefined) accepts exactly this function by name (tests/valgrind/ct.supp) and
 * reports every other dependence. */
#ifndef BEAA_CT_H
#define BEAA_CT_H
#include <stdint.h>

/* 1 if v != 0, else 0; the returned bit is public (the caller may branch on it). */
int beaa_ct_public(uint64_t v);

#endif
