/* torture.h — the test build's allocation torture (make torture,
 * tests/torture/alloc.c): serve arms it once it is up and disarms it when
 * it is told to stop, so that the Nth allocation of a story, not of the
 * start-up, fails. A no-op in a release build. */
#ifndef RG_TORTURE_H
#define RG_TORTURE_H

#include <stdbool.h>

void rg_torture_arm(bool on);
bool rg_torture_armed(void);

#endif
