/*  cli_top.c - distpoll status (one snapshot) and distpoll top (refreshed, with rates)
    SPDX-License-Identifier: MIT */
#include "cli_status.h"
#include "dp_time.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define S_TOP_INTERVAL_MS 2000
#define S_TOP_MIN_MS      200
#define S_TOP_MAX_MS      60000

static int s_exit_code(const cli_st_t *st)
{
    return st->redis_ok && st->db_ok ? CLI_OK : CLI_UNAVAILABLE;
}

//  --------------------------------------------------------------------------
int cli_status(cli_t *cli, int argc, char **argv)
{
    (void)argv;
    if (argc > 0)
        return cli_error(CLI_USAGE, "status: unexpected \"%s\" (expected [--json])", argv[0]);
    cli_st_t st;
    cli_status_collect(cli, &st);
    if (cli->json)
        cli_status_print_json(cli, &st, NULL, stdout);
    else
        cli_status_print_text(cli, &st, NULL, stdout);
    int rc = s_exit_code(&st);
    cli_status_free(&st);
    return rc;
}

//  Waits up to ms for a key; true when 'q' (or end of input on a terminal) asks to quit.
static bool s_wait_quit(int ms, bool tty)
{
    int64_t deadline = dp_time_mono_ms() + ms;
    while (true) {
        int64_t left = deadline - dp_time_mono_ms();
        if (left <= 0)
            return false;
        if (!tty) {
            usleep((useconds_t)(left > 100 ? 100 : left) * 1000);
            continue;
        }
        struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
        if (poll(&p, 1, (int)left) > 0) {
            char c;
            if (read(STDIN_FILENO, &c, 1) != 1 || c == 'q' || c == 'Q' || c == 3)
                return true;
        }
    }
}

static int s_parse_top(int argc, char **argv, long *interval_ms, long *iterations)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--once") == 0) {
            *iterations = 1;
            continue;
        }
        if (i + 1 >= argc)
            return cli_error(CLI_USAGE,
                             "top: unexpected \"%s\" (expected --interval MS, "
                             "--iterations N, --once, --json)",
                             argv[i]);
        const char *v = argv[++i];
        if (strcmp(argv[i - 1], "--interval") == 0) {
            if (cli_parse_long("--interval", v, S_TOP_MIN_MS, S_TOP_MAX_MS, interval_ms))
                return CLI_USAGE;
        } else if (strcmp(argv[i - 1], "--iterations") == 0) {
            if (cli_parse_long("--iterations", v, 1, 1000000, iterations))
                return CLI_USAGE;
        } else
            return cli_error(CLI_USAGE, "top: unknown option %s", argv[i - 1]);
    }
    return 0;
}

//  --------------------------------------------------------------------------
int cli_top(cli_t *cli, int argc, char **argv)
{
    long interval_ms = S_TOP_INTERVAL_MS, iterations = 0; /* 0: until q */
    int rc = s_parse_top(argc, argv, &interval_ms, &iterations);
    if (rc)
        return rc;
    bool tty_in = isatty(STDIN_FILENO), tty_out = isatty(STDOUT_FILENO);
    struct termios saved, raw;
    if (tty_in && tcgetattr(STDIN_FILENO, &saved) == 0) {
        raw = saved;
        raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    } else
        tty_in = false;
    cli_st_t prev, cur;
    cli_status_collect(cli, &prev); /* the baseline of the first rates */
    bool quit = false;
    for (long n = 0; !quit && (iterations == 0 || n < iterations); n++) {
        quit = s_wait_quit((int)interval_ms, tty_in);
        cli_status_collect(cli, &cur);
        if (tty_out && !cli->json)
            fputs("\033[H\033[2J", stdout);
        else if (!cli->json && n > 0)
            fputs("\n", stdout);
        if (cli->json)
            cli_status_print_json(cli, &cur, &prev, stdout);
        else {
            cli_status_print_text(cli, &cur, &prev, stdout);
            if (tty_out)
                printf("\n(refresh %.1f s, rates over the last interval; q quits)\n",
                       (double)interval_ms / 1000);
        }
        fflush(stdout);
        rc = s_exit_code(&cur);
        cli_status_free(&prev);
        prev = cur;
    }
    cli_status_free(&prev);
    if (tty_in)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    return rc;
}
