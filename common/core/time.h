/* Calendar and clock helpers every layer shares. */
#ifndef IW_TIME_H
#define IW_TIME_H

/* Days in month M (1-12) of year Y (Gregorian). */
int iw_days_in_month(int y, int m);
/* Milliseconds on the monotonic clock (for durations, not dates). */
long long iw_now_ms(void);
/* Sleeps MS milliseconds, resuming after signals. */
void iw_sleep_ms(long ms);
#endif
