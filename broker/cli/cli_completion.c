/* cli_completion.c: `gpubroker completion bash|zsh|fish`: a completion script made from the
 * command table and each command's --help text (its "gpubroker CMD SUB" usage lines give the
 * subcommands, its "--name" words the options), so a new command or option completes without
 * a second list to keep in step. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/cli/cli.h"
#include "broker/cli/cli_util.h"
#include "common/str.h"

#define MAX_WORDS 96
#define WORD_MAX 40

typedef struct {
    char subs[MAX_WORDS][WORD_MAX];
    int nsubs;
    char opts[MAX_WORDS][WORD_MAX];
    int nopts;
} words;

static void add_word(char (*list)[WORD_MAX], int *n, const char *w, size_t len)
{
    if (len == 0 || len >= WORD_MAX || *n >= MAX_WORDS) return;
    for (int i = 0; i < *n; i++)
        if (strlen(list[i]) == len && strncmp(list[i], w, len) == 0) return;
    memcpy(list[*n], w, len);
    list[*n][len] = '\0';
    (*n)++;
}

static int word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* What `gpubroker CMD --help` prints, captured through a temporary file (NULL on failure). */
static char *help_text(const cli_command *c)
{
    char *text = NULL;
    FILE *tmp = tmpfile();
    if (!tmp) return NULL;
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    if (saved < 0 || dup2(fileno(tmp), STDOUT_FILENO) < 0) goto done;
    char help[] = "--help";
    char *argv[] = {help, NULL};
    c->fn(1, argv);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    long len = ftell(tmp);
    if (len < 0 || len > (1 << 20) || fseek(tmp, 0, SEEK_SET) != 0) goto done;
    text = calloc(1, (size_t)len + 1);
    if (text && fread(text, 1, (size_t)len, tmp) != (size_t)len) {
        free(text);
        text = NULL;
    }
done:
    if (saved >= 0) close(saved);
    fclose(tmp);
    return text;
}

static void parse_help(const char *name, const char *text, words *w)
{
    char lead[64];
    snprintf(lead, sizeof(lead), "gpubroker %s ", name);
    for (const char *p = text; (p = strstr(p, lead)) != NULL;) {
        p += strlen(lead);
        /* "ls", "start|stop|rm": the words before a space, split at '|' */
        while (word_char(*p) && *p != '-') {
            const char *s = p;
            while (word_char(*p))
                p++;
            add_word(w->subs, &w->nsubs, s, (size_t)(p - s));
            if (*p != '|') break;
            p++;
        }
    }
    for (const char *p = text; (p = strstr(p, "--")) != NULL;) {
        const char *s = p;
        p += 2;
        while (word_char(*p))
            p++;
        if (p - s > 2 && (s == text || !word_char(s[-1])))
            add_word(w->opts, &w->nopts, s, (size_t)(p - s));
    }
    add_word(w->opts, &w->nopts, "--help", 6);
    add_word(w->opts, &w->nopts, "--json", 6);
    add_word(w->opts, &w->nopts, "--wide", 6);
    add_word(w->opts, &w->nopts, "--ca", 4); /* every client command's (cli_main) */
}

static void put_list(FILE *f, char (*list)[WORD_MAX], int n)
{
    for (int i = 0; i < n; i++)
        fprintf(f, "%s%s", i ? " " : "", list[i]);
}

/* The text with ' made safe inside a single-quoted shell word. */
static void put_quoted(FILE *f, const char *s)
{
    for (; *s; s++)
        if (*s == '\'')
            fputs("'\\''", f);
        else
            fputc(*s, f);
}

static void emit_bash(FILE *f, const cli_command *cmds, size_t n, words *w)
{
    fprintf(f, "# gpubroker completion for bash: source <(gpubroker completion bash)\n"
               "_gpubroker() {\n"
               "    local cur=\"${COMP_WORDS[COMP_CWORD]}\" words=\"\"\n"
               "    if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
               "        words=\"");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%s", i ? " " : "", cmds[i].name);
    fprintf(f, " help --help --version\"\n"
               "    else\n"
               "        case \"${COMP_WORDS[1]}\" in\n");
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "        %s)\n            if [ \"$COMP_CWORD\" -eq 2 ]; then words=\"",
                cmds[i].name);
        put_list(f, w[i].subs, w[i].nsubs);
        fprintf(f, "%s", w[i].nsubs ? " " : "");
        put_list(f, w[i].opts, w[i].nopts);
        fprintf(f, "\"; else words=\"");
        put_list(f, w[i].opts, w[i].nopts);
        fprintf(f, "\"; fi ;;\n");
    }
    fprintf(f, "        esac\n"
               "    fi\n"
               "    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
               "}\n"
               "complete -o default -F _gpubroker gpubroker\n");
}

static void emit_zsh(FILE *f, const cli_command *cmds, size_t n, words *w)
{
    fprintf(f, "#compdef gpubroker\n"
               "# gpubroker completion for zsh: source <(gpubroker completion zsh)\n"
               "_gpubroker() {\n"
               "    if (( CURRENT == 2 )); then\n"
               "        local -a cmds\n"
               "        cmds=(\n");
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "            '%s:", cmds[i].name);
        put_quoted(f, cmds[i].summary);
        fprintf(f, "'\n");
    }
    fprintf(f, "        )\n"
               "        _describe 'command' cmds\n"
               "        return\n"
               "    fi\n"
               "    case $words[2] in\n");
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "    %s)\n        if (( CURRENT == 3 )); then compadd -- ", cmds[i].name);
        put_list(f, w[i].subs, w[i].nsubs);
        fprintf(f, "%s", w[i].nsubs ? " " : "");
        put_list(f, w[i].opts, w[i].nopts);
        fprintf(f, "; else compadd -- ");
        put_list(f, w[i].opts, w[i].nopts);
        fprintf(f, "; fi ;;\n");
    }
    fprintf(f, "    esac\n"
               "}\n"
               "if (( $+functions[compdef] )); then compdef _gpubroker gpubroker; fi\n");
}

static void emit_fish(FILE *f, const cli_command *cmds, size_t n, words *w)
{
    fprintf(f, "# gpubroker completion for fish: gpubroker completion fish | source\n"
               "complete -c gpubroker -f\n");
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "complete -c gpubroker -n __fish_use_subcommand -a %s -d '", cmds[i].name);
        put_quoted(f, cmds[i].summary);
        fprintf(f, "'\n");
        if (w[i].nsubs) {
            fprintf(f, "complete -c gpubroker -n '__fish_seen_subcommand_from %s' -a '",
                    cmds[i].name);
            put_list(f, w[i].subs, w[i].nsubs);
            fprintf(f, "'\n");
        }
        for (int k = 0; k < w[i].nopts; k++)
            fprintf(f, "complete -c gpubroker -n '__fish_seen_subcommand_from %s' -l %s\n",
                    cmds[i].name, w[i].opts[k] + 2);
    }
}

static const char HELP[] =
    "usage: gpubroker completion bash|zsh|fish [--json]\n"
    "\n"
    "Prints a completion script for the shell, made from the commands and their --help:\n"
    "  bash: source <(gpubroker completion bash)   (or save it in\n"
    "        /etc/bash_completion.d/gpubroker)\n"
    "  zsh:  source <(gpubroker completion zsh)    (or save it as _gpubroker in your $fpath)\n"
    "  fish: gpubroker completion fish > ~/.config/fish/completions/gpubroker.fish\n";

int cli_completion(int argc, char **argv)
{
    cli_opt o[] = {CLI_FLAG("json")};
    const char *pos[1];
    int np, help;
    int rc = cli_parse(argc, argv, o, 1, pos, 1, &np, &help);
    if (rc || help) return rc ? rc : cli_help(HELP);
    if (np != 1) return cli_usage_error("completion: give one shell: bash, zsh or fish");
    const char *sh = pos[0];
    if (strcmp(sh, "bash") && strcmp(sh, "zsh") && strcmp(sh, "fish"))
        return cli_usage_error("completion: unknown shell '%s' (bash, zsh or fish)", sh);
    size_t n = 0;
    const cli_command *cmds = cli_commands(&n);
    words *w = calloc(n, sizeof(*w));
    char *text = NULL;
    size_t len = 0;
    FILE *f = w ? open_memstream(&text, &len) : NULL;
    if (!f) {
        free(w);
        return cli_error(CLI_ERR_CONN, "NO_MEMORY", 0, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        if (cmds[i].fn == cli_completion) {
            add_word(w[i].subs, &w[i].nsubs, "bash", 4);
            add_word(w[i].subs, &w[i].nsubs, "zsh", 3);
            add_word(w[i].subs, &w[i].nsubs, "fish", 4);
            add_word(w[i].opts, &w[i].nopts, "--json", 6);
            continue;
        }
        char *help_out = help_text(&cmds[i]);
        if (help_out) parse_help(cmds[i].name, help_out, &w[i]);
        free(help_out);
    }
    if (!strcmp(sh, "bash"))
        emit_bash(f, cmds, n, w);
    else if (!strcmp(sh, "zsh"))
        emit_zsh(f, cmds, n, w);
    else
        emit_fish(f, cmds, n, w);
    fclose(f);
    free(w);
    if (o[0].set) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "shell", sh);
        cJSON_AddStringToObject(j, "script", text ? text : "");
        cli_print_json(stdout, j);
        cJSON_Delete(j);
    } else {
        fputs(text ? text : "", stdout);
    }
    free(text);
    return CLI_OK;
}
