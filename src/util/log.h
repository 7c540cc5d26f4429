/* log.h — log lines to stderr, human text or one JSON object per line.
 * Never pass secrets to these functions; what a command printed may hold
 * one anyway, so every line is masked with the registry given to
 * rg_log_set_secrets. */
#ifndef RG_LOG_H
#define RG_LOG_H

typedef enum { RG_LOG_DEBUG = 0, RG_LOG_INFO, RG_LOG_WARN, RG_LOG_ERROR } rg_log_level;

void rg_log_set_json(int json);        /* --log-format json */
void rg_log_set_level(rg_log_level l);
/* Borrowed until set again (NULL: no masking); it must outlive its use. */
struct rg_secrets;
void rg_log_set_secrets(struct rg_secrets *s);
void rg_log(rg_log_level l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define rg_debug(...) rg_log(RG_LOG_DEBUG, __VA_ARGS__)
#define rg_info(...)  rg_log(RG_LOG_INFO, __VA_ARGS__)
#define rg_warn(...)  rg_log(RG_LOG_WARN, __VA_ARGS__)
#define rg_error_log(...) rg_log(RG_LOG_ERROR, __VA_ARGS__)

#endif
