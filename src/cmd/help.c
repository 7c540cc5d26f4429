/* help.c — what every command accepts: its usage text, and the parser and
 * input checks that enforce exactly that, so help and behaviour agree.
 * It must never accept an option its help does not document. */
#include "cmd/cmd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/output.h"
#include "util/names.h"

enum {
	OPT_ENV = 1 << 0, OPT_TO = 1 << 1, OPT_REASON = 1 << 2, OPT_LIMIT = 1 << 3,
	OPT_WAIT = 1 << 4, OPT_WATCH = 1 << 5, OPT_JSON = 1 << 6, OPT_DRY_RUN = 1 << 7,
	OPT_FORCE = 1 << 8, OPT_OVERWRITE = 1 << 9, OPT_CONFIG = 1 << 10, OPT_INIT_CONFIG = 1 << 11,
	OPT_LOG_FORMAT = 1 << 12, OPT_ROLE = 1 << 13, OPT_TOKEN_ENV = 1 << 14, OPT_EXPIRES = 1 << 15,
	OPT_EMERGENCY = 1 << 16, OPT_SKIP_MONITOR = 1 << 17, OPT_COMMENT = 1 << 18,
	OPT_REJECT_REASON = 1 << 19, OPT_FLAG_REASON = 1 << 20, OPT_BEFORE = 1 << 21,
	OPT_FAILED = 1 << 22, OPT_OPEN = 1 << 23, OPT_NOTE = 1 << 24, OPT_TICK = 1 << 25,
	OPT_INC_BEFORE = 1 << 26,
};

/* Options that may stand more than once: each value is kept (--env, for a
 * token limited to several environments). */
#define OPT_REPEATABLE OPT_TOKEN_ENV

/* An option name may stand twice with two bits when two commands mean
 * different things by it (rollback --force, init --force): each command's
 * help then says what it means there, and both set the same field. */
static const struct option_doc {
	unsigned bit;
	const char *name;
	char short_name;    /* 0: none */
	const char *arg;    /* NULL: a switch */
	const char *help;
} options[] = {
	{ OPT_CONFIG, "config", 'c', "FILE", "the configuration (default rollguard.yaml)" },
	{ OPT_INIT_CONFIG, "config", 'c', "FILE", "where to write it (default rollguard.yaml)" },
	{ OPT_LOG_FORMAT, "log-format", 0, "text|json", "how log lines are written (default text)" },
	{ OPT_OVERWRITE, "force", 0, NULL, "overwrite FILE if it exists" },
	{ OPT_ENV, "env", 0, "E", "the environment, as named in rollguard.yaml" },
	{ OPT_TO, "to", 0, "VERSION", "the release to put back (default: the last known good one)" },
	{ OPT_REASON, "reason", 0, "TEXT", "why, for the timeline and the incident" },
	{ OPT_REJECT_REASON, "reason", 0, "TEXT", "why not, for the timeline (required)" },
	{ OPT_FLAG_REASON, "reason", 0, "TEXT", "why, for the audit log (required)" },
	{ OPT_EMERGENCY, "emergency", 0, NULL, "skip the approval gates (oncall role; needs --reason)" },
	{ OPT_SKIP_MONITOR, "skip-monitor", 0, NULL, "with --emergency: no monitor window after the steps" },
	{ OPT_COMMENT, "comment", 0, "TEXT", "a note kept with the approval" },
	{ OPT_LIMIT, "limit", 0, "N", "show at most N runs (default 20, at most 1000)" },
	{ OPT_BEFORE, "before", 0, "RUN", "only runs older than RUN: the next page" },
	{ OPT_FAILED, "failed", 0, NULL, "only the messages given up, or whose last try failed" },
	{ OPT_DRY_RUN, "dry-run", 0, NULL, "print the plan and its risks; change nothing" },
	{ OPT_FORCE, "force", 0, NULL, "allow a target that never became known good" },
	{ OPT_WAIT, "wait", 0, NULL, "follow the run until it ends; exit 0 only if it succeeded" },
	{ OPT_WATCH, "watch", 0, NULL, "follow the run in progress until it ends" },
	{ OPT_JSON, "json", 0, NULL, "print the server's JSON instead of text" },
	{ OPT_OPEN, "open", 0, NULL, "only incidents not resolved yet" },
	{ OPT_INC_BEFORE, "before", 0, "ID", "only incidents older than ID: the next page" },
	{ OPT_NOTE, "note", 0, "TEXT", "a note kept on the incident's timeline" },
	{ OPT_TICK, "tick", 0, "ITEM", "tick item ITEM (its number or its text)" },
	{ OPT_ROLE, "role", 0, "ROLE[,ROLE]", "viewer, deployer, approver, oncall, alerts, admin, flags" },
	{ OPT_TOKEN_ENV, "env", 0, "E", "limit the token to E (repeat for more; default: every one)" },
	{ OPT_EXPIRES, "expires", 0, "D", "the token stops working after D (e.g. 90d, 12h)" },
};

enum group { G_SETUP, G_RELEASE, G_READ, G_CONTROL, G_INCIDENTS, G_FLAGS, G_PEOPLE, G_ABOUT };

static const char *const group_names[] = {
	[G_SETUP] = "set up and run the controller",
	[G_RELEASE] = "release",
	[G_READ] = "look",
	[G_CONTROL] = "steer a run in progress",
	[G_INCIDENTS] = "incidents",
	[G_FLAGS] = "feature flags",
	[G_PEOPLE] = "people: tokens and the audit log",
	[G_ABOUT] = "about rollguard",
};

/* One command of this binary: its usage, and what its parser accepts. */
static const struct help {
	const char *name;
	enum group group;
	const char *synopsis;      /* after "rollguard " */
	const char *summary;
	const char *text;          /* a paragraph: what it does, what it prints */
	unsigned opts, required;
	int min_operands, max_operands;
	const char *operands[3];
} commands[] = {
	{ "init", G_SETUP, "init [-c FILE] [--force]", "write a starter rollguard.yaml",
	  "Writes a commented starter configuration to edit, then check with\n"
	  "'rollguard lint'. An existing file is left alone unless --force.",
	  OPT_INIT_CONFIG | OPT_OVERWRITE, 0, 0, 0, { 0 } },
	{ "lint", G_SETUP, "lint [-c FILE]", "check a configuration, start nothing",
	  "Checks a configuration and prints every problem as FILE:LINE:COL: message.\n"
	  "Exit 0 when it is valid, 1 when it has problems, 2 when it cannot be read.",
	  OPT_CONFIG, 0, 0, 0, { 0 } },
	{ "serve", G_SETUP, "serve [-c FILE] [--log-format text|json]",
	  "run the controller: API, engine, proxy",
	  "Runs the controller in the foreground: loads FILE, opens the state store,\n"
	  "attaches to the proxy process that serves the built-in proxies (starting\n"
	  "one if none runs), starts the routers, the engine and the API, and resumes\n"
	  "every unfinished run. SIGTERM or SIGINT stops it and its proxy cleanly;\n"
	  "SIGUSR2 stops it alone, the proxy serving on. The runs in progress resume\n"
	  "at the next start. Logs go to stderr.",
	  OPT_CONFIG | OPT_LOG_FORMAT, 0, 0, 0, { 0 } },
	{ "deploy", G_RELEASE,
	  "deploy VERSION --env E [--emergency --reason TEXT [--skip-monitor]] [--wait] [--json]\n"
	  "         [-c FILE]",
	  "start a deploy of a version",
	  "Starts a deploy run of VERSION to environment E and prints its id. With\n"
	  "--wait it follows the run and exits 0 only when the release is live and\n"
	  "verified, 1 when the run ended otherwise (rolled back, failed, aborted).\n"
	  "Where E has an approval gate the run first waits for its approvals\n"
	  "(rollguard approve). --emergency skips the gate and its wait timer; it\n"
	  "needs the oncall role and a reason, and is marked on the run and in the\n"
	  "audit log.",
	  OPT_ENV | OPT_REASON | OPT_EMERGENCY | OPT_SKIP_MONITOR | OPT_WAIT | OPT_JSON | OPT_CONFIG,
	  OPT_ENV, 1, 1, { "VERSION" } },
	{ "rollback", G_RELEASE,
	  "rollback --env E [--to VERSION] [--reason TEXT] [--dry-run] [--force] [--emergency]\n"
	  "         [--wait] [--json] [-c FILE]",
	  "put a known good release back",
	  "Rolls environment E back to the last known good release, or to VERSION.\n"
	  "A target that never became known good is refused unless --force. With\n"
	  "--dry-run it prints the plan (each step, its command and the ROLLGUARD_*\n"
	  "values it will be given, the checks and the risks) and changes nothing.\n"
	  "Where E has a rollback approval gate the run waits for it first; while a\n"
	  "deploy holds for approval of its rollback, this approves it. --emergency\n"
	  "(oncall role, with --reason) skips the gate.",
	  OPT_ENV | OPT_TO | OPT_REASON | OPT_DRY_RUN | OPT_FORCE | OPT_EMERGENCY | OPT_WAIT |
		  OPT_JSON | OPT_CONFIG,
	  OPT_ENV,
	  0, 0, { 0 } },
	{ "status", G_READ, "status [--env E] [--watch] [--json] [-c FILE]",
	  "the live release and the run in progress",
	  "Shows each environment's live release, the run in progress and the last run.\n"
	  "With --watch it then follows the run in progress until it ends and exits\n"
	  "as deploy --wait does.",
	  OPT_ENV | OPT_WATCH | OPT_JSON | OPT_CONFIG, 0, 0, 0, { 0 } },
	{ "history", G_READ, "history [--env E] [--limit N] [--before RUN] [--json] [-c FILE]",
	  "past runs, newest first",
	  "Lists runs newest first: id, kind, version, from, state, start, duration and\n"
	  "reason, a page at a time: when there are more it says the --before of the\n"
	  "next page. --json prints a JSON array of runs.",
	  OPT_ENV | OPT_LIMIT | OPT_BEFORE | OPT_JSON | OPT_CONFIG, 0, 0, 0, { 0 } },
	{ "show", G_READ, "show RUN [--json] [-c FILE]", "one run: steps, decision, timeline",
	  "Shows a run: its header, a table of its steps, the decision that ended it and\n"
	  "its timeline, each event at its offset from the run's creation (T+1.532s).",
	  OPT_JSON | OPT_CONFIG, 0, 1, 1, { "RUN" } },
	{ "logs", G_READ, "logs RUN [STEP] [-c FILE]", "the output of a run's steps",
	  "Prints the log of STEP in run RUN; without STEP, the log of every step in\n"
	  "order, each under a header.",
	  OPT_CONFIG, 0, 1, 2, { "RUN", "STEP" } },
	{ "abort", G_CONTROL, "abort RUN [--json] [-c FILE]", "stop a run where it is; undo nothing",
	  "Asks the server to abort run RUN: it stops where it is, the step it\n"
	  "interrupted is recorded failed (and a deploy's pending release with it),\n"
	  "and nothing is undone: the route stays as it is. To put a known good\n"
	  "release back, use 'rollguard rollback'.", OPT_JSON | OPT_CONFIG, 0, 1, 1, { "RUN" } },
	{ "promote", G_CONTROL, "promote RUN [--json] [-c FILE]", "skip the rest of a wait or canary",
	  "Asks the server to promote run RUN past its current pause or canary phase\n"
	  "(never past an approval gate).", OPT_JSON | OPT_CONFIG, 0, 1, 1, { "RUN" } },
	{ "pause", G_CONTROL, "pause RUN [--json] [-c FILE]", "hold a run before its next step",
	  "Asks the server to hold run RUN before its next step.",
	  OPT_JSON | OPT_CONFIG, 0, 1, 1, { "RUN" } },
	{ "resume", G_CONTROL, "resume RUN [--json] [-c FILE]", "let a paused run go on",
	  "Lets a paused run go on.", OPT_JSON | OPT_CONFIG, 0, 1, 1, { "RUN" } },
	{ "approve", G_CONTROL, "approve RUN [--comment TEXT] [--json] [-c FILE]",
	  "approve a run waiting at its gate",
	  "Approves run RUN, which waits in awaiting_approval: a gated deploy or\n"
	  "rollback (once the approvals it needs are in and its wait has passed, it\n"
	  "starts), or a deploy holding for approval of its rollback (it rolls back).\n"
	  "The person who asked for a run can never approve it; one person counts once.",
	  OPT_COMMENT | OPT_JSON | OPT_CONFIG, 0, 1, 1, { "RUN" } },
	{ "reject", G_CONTROL, "reject RUN --reason TEXT [--json] [-c FILE]",
	  "refuse a run waiting at its gate",
	  "Refuses run RUN: a gated deploy or rollback ends aborted with your name and\n"
	  "reason, nothing done; a deploy holding for approval of its rollback goes on\n"
	  "watching instead of rolling back.",
	  OPT_REJECT_REASON | OPT_JSON | OPT_CONFIG, OPT_REJECT_REASON, 1, 1, { "RUN" } },
	{ "incidents", G_INCIDENTS, "incidents [--env E] [--open] [--before ID] [--json] [-c FILE]",
	  "incidents, newest first",
	  "Lists incidents newest first: id, severity, environment, what opened it, the\n"
	  "failed release, state, escalation level and who acknowledged. An incident is\n"
	  "opened by an automatic rollback, a failed rollback, a failed run, an unhealthy\n"
	  "restored release or a run held by a guard; --open leaves out resolved ones.",
	  OPT_ENV | OPT_OPEN | OPT_INC_BEFORE | OPT_JSON | OPT_CONFIG, 0, 0, 0, { 0 } },
	{ "incident", G_INCIDENTS, "incident ID [--json] [-c FILE]", "one incident: decision, timeline",
	  "Shows incident ID: severity, releases, the decision, its state and escalation\n"
	  "level, the timeline (its runs' events, notices sent, acks, notes) and the\n"
	  "checklist.",
	  OPT_JSON | OPT_CONFIG, 0, 1, 1, { "ID" } },
	{ "ack", G_INCIDENTS, "ack ID [--note TEXT] [--json] [-c FILE]", "acknowledge an incident",
	  "Acknowledges incident ID as you (oncall role): its escalation stops climbing\n"
	  "and the channels paged so far are told.",
	  OPT_NOTE | OPT_JSON | OPT_CONFIG, 0, 1, 1, { "ID" } },
	{ "note", G_INCIDENTS, "note ID TEXT [--json] [-c FILE]", "add a note to an incident",
	  "Adds TEXT to incident ID's timeline, as you (oncall role).",
	  OPT_JSON | OPT_CONFIG, 0, 2, 2, { "ID", "TEXT" } },
	{ "resolve", G_INCIDENTS, "resolve ID [--note TEXT] [--json] [-c FILE]", "close an incident",
	  "Resolves incident ID as you (oncall role): the climb stops and the channels\n"
	  "paged so far are told it is resolved (PagerDuty: resolve).",
	  OPT_NOTE | OPT_JSON | OPT_CONFIG, 0, 1, 1, { "ID" } },
	{ "checklist", G_INCIDENTS, "checklist ID [--tick ITEM] [--json] [-c FILE]",
	  "an incident's post-rollback checklist",
	  "Prints incident ID's checklist (incident.checklist), each item ticked or not,\n"
	  "by whom and when. --tick ITEM (its number or its text) ticks it as you\n"
	  "(oncall role); the tick is audited.",
	  OPT_TICK | OPT_JSON | OPT_CONFIG, 0, 1, 1, { "ID" } },
	{ "postmortem", G_INCIDENTS, "postmortem ID [-c FILE]", "a post-mortem draft in Markdown",
	  "Prints a blameless post-mortem draft of incident ID in Markdown: summary,\n"
	  "impact window, timeline with UTC times and T+ offsets, the decision and its\n"
	  "evidence, what was undone, who acknowledged, the checklist — for a person to\n"
	  "finish.",
	  OPT_CONFIG, 0, 1, 1, { "ID" } },
	{ "backups", G_READ, "backups [--env E] [--json] [-c FILE]", "the backups taken before deploys",
	  "Lists the backups backup steps took, newest first: the release and run they\n"
	  "were taken for, their files and size, whether they were pruned (only the\n"
	  "newest `keep` per environment stay) and the last verification.",
	  OPT_ENV | OPT_JSON | OPT_CONFIG, 0, 0, 0, { 0 } },
	{ "notifications", G_READ, "notifications [--env E] [--failed] [--json] [-c FILE]",
	  "the messages sent to the notification channels",
	  "Lists the notification outbox, newest first: when each message was made, its\n"
	  "channel and event, how many tries it took, the last error and when it was\n"
	  "delivered. A message is retried (1 s doubling to 5 min, or as a 429's\n"
	  "Retry-After says) until delivered, and given up after 24 h (failed).",
	  OPT_ENV | OPT_FAILED | OPT_JSON | OPT_CONFIG, 0, 0, 0, { 0 } },
	{ "backup", G_READ, "backup verify ID [-c FILE]", "check a backup's files and run its verify",
	  "Checks backup ID's files against the sizes and SHA-256 recorded when it was\n"
	  "taken, then runs its step's `verify` command with $ROLLGUARD_BACKUP_DIR.\n"
	  "Works on the state directory directly, serve running or not; the result is\n"
	  "recorded with the backup and in the audit log. Exit 0 usable, 1 not.",
	  OPT_CONFIG, 0, 2, 2, { "verify", "ID" } },
	{ "config", G_READ,
	  "config diff --env E [FROM] [TO] [--json] [-c FILE]\n"
	  "         config restore --env E --to V [--reason TEXT] [--dry-run] [--emergency] [-c FILE]",
	  "what changed in the config files between releases; put a release's back",
	  "diff shows a unified diff of environment E's config_files as kept with\n"
	  "release FROM (default: the last known good before TO) and TO (default: the\n"
	  "live release). Values of keys that look secret, or are listed in\n"
	  "secret_keys, and values of known secrets are shown as ***.\n"
	  "restore writes the files kept with release V back (each atomically) as a\n"
	  "run of its own (kind rollback, in history and the audit log), gated like a\n"
	  "rollback by approvals.rollback unless --emergency; no release changes.\n"
	  "--dry-run prints the diff it would apply (masked) and changes nothing.",
	  OPT_ENV | OPT_TO | OPT_REASON | OPT_DRY_RUN | OPT_EMERGENCY | OPT_JSON | OPT_CONFIG, OPT_ENV,
	  1, 3, { "diff|restore", "FROM", "TO" } },
	{ "flags", G_FLAGS, "flags [--env E] [--json] [-c FILE]", "feature flags and how each stands",
	  "Lists every flag of rollguard.yaml in each environment (or in E): its\n"
	  "type, the value served when on and its default, whether it is enabled and\n"
	  "to what share of targeting keys, and whether that comes from the config or\n"
	  "from an override (a 'flag set' or a trigger's disable_flag: who, when, why).",
	  OPT_ENV | OPT_JSON | OPT_CONFIG, 0, 0, 0, { 0 } },
	{ "flag", G_FLAGS, "flag set KEY --env E on|off|PERCENT --reason TEXT [--json] [-c FILE]",
	  "turn a flag on, off or to a rollout",
	  "Turns flag KEY on (everyone), off (everyone gets its default) or on for\n"
	  "PERCENT of targeting keys (e.g. 20%) in environment E, at once: the next\n"
	  "evaluation an application asks for sees it. Needs the deployer or oncall\n"
	  "role; the change and its reason are in the audit log. It stays until the\n"
	  "next 'flag set', whatever rollguard.yaml says.",
	  OPT_ENV | OPT_FLAG_REASON | OPT_JSON | OPT_CONFIG, OPT_ENV | OPT_FLAG_REASON, 3, 3,
	  { "set", "KEY", "on|off|PERCENT" } },
	{ "token", G_PEOPLE,
	  "token create NAME --role ROLE[,ROLE] [--env E]... [--expires D] [-c FILE]\n"
	  "         token list [--json] [-c FILE] | token revoke NAME [-c FILE]",
	  "make, list and revoke API tokens",
	  "Works on the state directory of FILE directly, with or without a running\n"
	  "serve. 'create' prints the new token once, alone on the last line; only\n"
	  "its hash is kept. 'list' shows names, roles, environments and times, never\n"
	  "a token. 'revoke' makes a token invalid at once. Each change is audited.",
	  OPT_ROLE | OPT_TOKEN_ENV | OPT_EXPIRES | OPT_JSON | OPT_CONFIG, 0, 1, 2,
	  { "create|list|revoke", "NAME" } },
	{ "audit", G_PEOPLE, "audit [--env E] [--limit N] [--json] [-c FILE] | audit verify [-c FILE]",
	  "who did what, and whether the record is intact",
	  "Lists the audit log newest first: every write asked of the API (accepted\n"
	  "or refused) and every token change, with who, from where, what and the\n"
	  "result. 'verify' checks the hash chain: exit 0 when it is intact, 1\n"
	  "naming the first entry that was changed, removed or reordered.",
	  OPT_ENV | OPT_LIMIT | OPT_JSON | OPT_CONFIG, 0, 0, 1, { "verify" } },
	{ "version", G_ABOUT, "version", "print rollguard's version",
	  "Prints the version of this rollguard binary.", 0, 0, 0, 0, { 0 } },
	{ "help", G_ABOUT, "help [COMMAND]", "this list, or one command's usage",
	  "Shows every command, or the usage and options of COMMAND.",
	  0, 0, 0, 1, { "COMMAND" } },
};

#define NCOMMANDS (sizeof commands / sizeof *commands)
#define NOPTIONS (sizeof options / sizeof *options)

static const struct help *help_find(const char *name)
{
	for (size_t i = 0; name && i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/* ---- usage text ------------------------------------------------------------------- */

void rg_help_usage(const char *cmd, FILE *out)
{
	const struct help *h = help_find(cmd);
	if (h)
		fprintf(out, "usage: rollguard %s\n", h->synopsis);
}

int rg_help_print(const char *cmd, FILE *out)
{
	const struct help *h = help_find(cmd);
	if (!h)
		return -1;
	fprintf(out, "usage: rollguard %s\n\n%s\n", h->synopsis, h->text);
	if (h->opts)
		fputs("\noptions:\n", out);
	bool shorts = false;   /* a column for "-c, " when any option has one */
	for (size_t i = 0; i < NOPTIONS; i++)
		shorts |= (h->opts & options[i].bit) && options[i].short_name;
	for (size_t i = 0; i < NOPTIONS; i++) {
		const struct option_doc *o = &options[i];
		char left[48], flag[8] = "";
		if (!(h->opts & o->bit))
			continue;
		if (shorts)
			snprintf(flag, sizeof flag, o->short_name ? "-%c, " : "    ", o->short_name);
		snprintf(left, sizeof left, "%s--%s%s%s", flag, o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
		fprintf(out, "  %-*s %s\n", shorts ? 26 : 16, left, o->help);
	}
	return 0;
}

void rg_help_overview(FILE *out)
{
	fputs("usage: rollguard [--url URL] COMMAND [ARGS]\n", out);
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (i == 0 || commands[i].group != commands[i - 1].group)
			fprintf(out, "\n%s\n", group_names[commands[i].group]);
		fprintf(out, "   %-10s %s\n", commands[i].name, commands[i].summary);
	}
	fputs("\nThe server is --url URL, or ROLLGUARD_URL (default " RG_CLIENT_DEFAULT_URL ");\n"
	      "ROLLGUARD_TOKEN, when set, is sent as a bearer token.\n"
	      "Exit codes: 0 done, 1 the run ended otherwise, 2 usage or invalid input,\n"
	      "3 no server reachable, 4 refused by the server.\n"
	      "See 'rollguard help COMMAND' for the options of one command.\n"
	      "To watch a deploy break and roll back, run 'make demo' in rollguard's source tree.\n",
	      out);
}

const char *rg_help_suggest(const char *word)
{
	const char *best = NULL;
	size_t best_d = 3, n = strlen(word);   /* farther than 2 edits is no suggestion */
	for (size_t i = 0; i < NCOMMANDS; i++) {
		size_t d = rg_out_edit_distance(word, commands[i].name);
		if (n >= 3 && !strncmp(commands[i].name, word, n))
			d = 1;   /* a prefix: "stat" → "status" */
		if (d < best_d) {
			best_d = d;
			best = commands[i].name;
		}
	}
	return best;
}

int rg_help_unknown(const char *word)
{
	const char *near = rg_help_suggest(word);
	char clean[80];
	rg_out_clean(clean, sizeof clean, word);
	if (near)
		fprintf(stderr, "error: unknown command '%s' (did you mean '%s'?)\n", clean, near);
	else
		fprintf(stderr, "error: unknown command '%s'\n", clean);
	fprintf(stderr, "see 'rollguard help' for the list\n");
	return RG_EXIT_USAGE;
}

/* ---- parsing -------------------------------------------------------------------- */

/* The option of h named name[0..n), or with short name *name when n is 0. */
static const struct option_doc *option_find(const struct help *h, const char *name, size_t n)
{
	for (size_t i = 0; i < NOPTIONS; i++) {
		const struct option_doc *o = &options[i];
		if (!(h->opts & o->bit))
			continue;
		if (n ? strlen(o->name) == n && !strncmp(o->name, name, n)
		      : o->short_name && o->short_name == *name)
			return o;
	}
	return NULL;
}

static void option_store(rg_cli_args *a, unsigned bit, const char *value)
{
	switch (bit) {
	case OPT_ENV: a->env = value; break;
	case OPT_TO: a->to = value; break;
	case OPT_REASON: a->reason = value; break;
	case OPT_REJECT_REASON: a->reason = value; break;
	case OPT_FLAG_REASON: a->reason = value; break;
	case OPT_COMMENT: a->comment = value; break;
	case OPT_EMERGENCY: a->emergency = true; break;
	case OPT_SKIP_MONITOR: a->skip_monitor = true; break;
	case OPT_LIMIT: a->limit = value; break;
	case OPT_BEFORE: a->before = value; break;
	case OPT_INC_BEFORE: a->before = value; break;
	case OPT_OPEN: a->open = true; break;
	case OPT_NOTE: a->note = value; break;
	case OPT_TICK: a->tick = value; break;
	case OPT_WAIT: a->wait = true; break;
	case OPT_WATCH: a->watch = true; break;
	case OPT_JSON: a->json = true; break;
	case OPT_DRY_RUN: a->dry_run = true; break;
	case OPT_FAILED: a->failed = true; break;
	case OPT_FORCE: a->force = true; break;
	case OPT_OVERWRITE: a->force = true; break;
	case OPT_CONFIG: a->config = value; break;
	case OPT_INIT_CONFIG: a->config = value; break;
	case OPT_LOG_FORMAT: a->log_format = value; break;
	case OPT_ROLE: a->role = value; break;
	case OPT_EXPIRES: a->expires = value; break;
	case OPT_TOKEN_ENV:
		if (a->n_envs < RG_CLI_MAX_ENVS)
			a->envs[a->n_envs] = value;
		a->n_envs++;   /* counted past the limit, so the command can refuse it */
		break;
	}
}

/* "--name", "--name=value", "--name value", and for an option with a short
 * name "-c value" or "-cvalue" (as getopt reads them); *i moves past what
 * was used. */
static rg_err parse_option(const struct help *h, int argc, char **argv, int *i, unsigned *seen,
			   rg_cli_args *a, rg_error *err)
{
	const char *s = argv[*i], *eq = NULL;
	size_t n = 2;                                   /* the flag as typed: "-c" */
	const struct option_doc *o = NULL;
	if (s[1] == '-') {
		eq = strchr(s, '=');
		n = eq ? (size_t)(eq - s) : strlen(s);  /* the flag, without "=value" */
		o = option_find(h, s + 2, n - 2);
	} else {
		o = option_find(h, s + 1, 0);
		if (s[2] && o && o->arg) {
			eq = s + 1;                     /* "-cFILE": the value follows */
		} else if (s[2]) {
			o = NULL;                       /* no bundled switches */
			n = strlen(s);
		}
	}
	if (!o)
		return rg_fail(err, RG_EINVAL, NULL, "unknown option '%.*s'", (int)n, s);
	if ((*seen & o->bit) && !(o->bit & OPT_REPEATABLE))
		return rg_fail(err, RG_EINVAL, o->name, "option '%.*s' given twice", (int)n, s);
	*seen |= o->bit;
	if (!o->arg && eq)
		return rg_fail(err, RG_EINVAL, o->name, "option '--%s' takes no value", o->name);
	const char *value = eq ? eq + 1 : NULL;
	if (o->arg && !value) {
		if (*i + 1 >= argc)
			return rg_fail(err, RG_EINVAL, o->name, "option '%.*s' needs a value (%s)",
				       (int)n, s, o->arg);
		value = argv[++*i];
	}
	option_store(a, o->bit, value);
	return RG_OK;
}

static rg_err parse_finish(const struct help *h, unsigned seen, const rg_cli_args *a,
			   rg_error *err)
{
	if (a->help)
		return RG_OK;
	for (size_t i = 0; i < NOPTIONS; i++)
		if ((h->required & options[i].bit) && !(seen & options[i].bit))
			return rg_fail(err, RG_EINVAL, options[i].name, "missing --%s %s",
				       options[i].name, options[i].arg);
	if (a->noperands < h->min_operands)
		return rg_fail(err, RG_EINVAL, NULL, "missing %s", h->operands[a->noperands]);
	return RG_OK;
}

rg_err rg_cli_parse(const char *cmd, int argc, char **argv, rg_cli_args *a, rg_error *err)
{
	const struct help *h = help_find(cmd);
	unsigned seen = 0;
	bool operands_only = false;
	memset(a, 0, sizeof *a);
	if (!h)
		return rg_fail(err, RG_EINTERNAL, NULL, "no usage for command '%s'", cmd);
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		rg_err rc = RG_OK;
		if (operands_only || s[0] != '-' || !s[1]) {
			if (a->noperands >= h->max_operands)
				return rg_fail(err, RG_EINVAL, NULL, "unexpected argument '%s'", s);
			a->operands[a->noperands++] = s;
		} else if (!strcmp(s, "--")) {
			operands_only = true;
		} else if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
			a->help = true;
		} else if ((rc = parse_option(h, argc, argv, &i, &seen, a, err))) {
			return rc;
		}
	}
	return parse_finish(h, seen, a, err);
}

bool rg_cli_args_get(const char *cmd, int argc, char **argv, rg_cli_args *a, int *exit_code)
{
	rg_error e;
	rg_error_clear(&e);
	if (rg_cli_parse(cmd, argc, argv, a, &e)) {
		*exit_code = rg_out_error(&e);
		rg_help_usage(cmd, stderr);
		return false;
	}
	if (a->help) {
		rg_help_print(cmd, stdout);
		*exit_code = RG_EXIT_OK;
		return false;
	}
	return true;
}

const char *rg_cli_config_path(const rg_cli_args *a)
{
	return a->config ? a->config : "rollguard.yaml";
}

/* ---- checks of values --------------------------------------------------------------- */

rg_err rg_cli_check_name(const char *what, const char *value, rg_error *err)
{
	/* The length is checked here too: rg_name_valid lets 65 characters by. */
	if (rg_name_valid(value) && strlen(value) <= RG_NAME_MAX)
		return RG_OK;
	return rg_fail(err, RG_EINVAL, what,
		       "invalid %s '%s' (allowed: letters, digits, . _ + -, up to %d, "
		       "starting with a letter or digit)", what, value, RG_NAME_MAX);
}

rg_err rg_cli_check_step(const char *value, rg_error *err)
{
	if (rg_ident_valid(value))
		return RG_OK;
	return rg_fail(err, RG_EINVAL, "step",
		       "invalid step name '%s' (allowed: letters, digits, _ . -, up to %d, "
		       "starting with a letter or _)", value, RG_NAME_MAX);
}

rg_err rg_cli_check_text(const char *what, const char *value, size_t max, rg_error *err)
{
	size_t n = strlen(value);
	if (n > max)
		return rg_fail(err, RG_EINVAL, what, "%s too long (%zu bytes, at most %zu)", what,
			       n, max);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f)
			return rg_fail(err, RG_EINVAL, what, "%s contains control characters",
				       what);
	return RG_OK;
}

/* Strict decimal in [lo, hi]: no sign, no spaces, no trailing text. */
static bool parse_decimal(const char *s, long long lo, long long hi, long long *out)
{
	char *end = NULL;
	if (!s || s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

rg_err rg_cli_parse_run_id(const char *s, int64_t *id, rg_error *err)
{
	long long v;
	if (!parse_decimal(s, 1, INT64_MAX, &v))
		return rg_fail(err, RG_EINVAL, "run",
			       "invalid run id '%s' (expected a number like 12)", s);
	*id = v;
	return RG_OK;
}

rg_err rg_cli_parse_limit(const char *s, int *limit, rg_error *err)
{
	long long v;
	if (!parse_decimal(s, 1, 1000, &v))
		return rg_fail(err, RG_EINVAL, "limit",
			       "invalid limit '%s' (expected 1 to 1000)", s);
	*limit = (int)v;
	return RG_OK;
}

/* ---- the command ----------------------------------------------------------------------- */

int cmd_help(int argc, char **argv)
{
	rg_cli_args a;
	int code;
	if (!rg_cli_args_get("help", argc, argv, &a, &code))
		return code;
	if (a.noperands == 0) {
		rg_help_overview(stdout);
		return RG_EXIT_OK;
	}
	if (rg_help_print(a.operands[0], stdout) == 0)
		return RG_EXIT_OK;
	return rg_help_unknown(a.operands[0]);
}
