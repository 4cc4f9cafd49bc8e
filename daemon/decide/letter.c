/* The letter a person reads (letter.h). Both parts are written by the same
 * calls, block by block, so that they cannot say different things: a
 * title, a sentence, labelled fields, sections, links and the small print.
 * Every value goes through html_text on its way into the HTML part. */
#include "letter.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

#define LABEL_WIDTH 22 /* the text part's value column */

struct part {
    char *data;
    size_t len, cap;
};

struct out {
    struct part text, body;
    bool failed;
    bool in_list;  /* the HTML part has an open <dl> of fields */
    bool open;      /* the text part's last block was fields: a block after them needs a gap */
    bool heading;   /* the last text block was a heading: what follows needs no gap */
    const sdat_tz_t *tz;
};

static void add(struct out *o, struct part *p, const char *s, size_t n)
{
    if (!o->failed && !sdat_text_append(&p->data, &p->len, &p->cap, s, n)) {
        o->failed = true;
    }
}

static void text(struct out *o, const char *s)
{
    add(o, &o->text, s, strlen(s));
}

static void html(struct out *o, const char *s)
{
    add(o, &o->body, s, strlen(s));
}

/* s escaped for HTML text and attribute values; a line end becomes <br>
 * when br is set. */
static void html_text(struct out *o, const char *s, bool br)
{
    const char *run = s;
    for (; *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        case '\r': rep = ""; break;
        case '\n': rep = br ? "<br>\n" : " "; break;
        default: break;
        }
        if (rep) {
            add(o, &o->body, run, (size_t)(s - run));
            html(o, rep);
            run = s + 1;
        }
    }
    add(o, &o->body, run, (size_t)(s - run));
}

/* s in the text part, each line after the first indented by indent. */
static void text_indented(struct out *o, const char *s, size_t indent)
{
    static const char spaces[] = "                                        ";
    for (const char *line = s; *line;) {
        size_t n = strcspn(line, "\n");
        size_t keep = n > 0 && line[n - 1] == '\r' ? n - 1 : n;
        add(o, &o->text, line, keep);
        line += n;
        if (*line == '\n') {
            line++;
            text(o, "\n");
            if (*line) {
                add(o, &o->text, spaces, indent < sizeof spaces - 1 ? indent : sizeof spaces - 1);
            }
        }
    }
}

static void close_list(struct out *o)
{
    if (o->in_list) {
        html(o, "</dl>\n");
        o->in_list = false;
    }
}

/* A new text block: a blank line before it unless it opens the letter or
 * follows a heading. */
static void text_gap(struct out *o)
{
    if (o->text.len > 0 && !o->heading) {
        text(o, "\n");
    }
    o->heading = false;
    o->open = false;
}

static void title(struct out *o, const char *s)
{
    text_gap(o);
    text(o, s);
    text(o, "\n");
    html(o, "<h1 style=\"font-size:20px;line-height:1.3;margin:0 0 12px 0\">");
    html_text(o, s, false);
    html(o, "</h1>\n");
}

static void para(struct out *o, const char *s)
{
    close_list(o);
    text_gap(o);
    text_indented(o, s, 0);
    text(o, "\n");
    html(o, "<p style=\"margin:0 0 12px 0\">");
    html_text(o, s, true);
    html(o, "</p>\n");
}

static void section(struct out *o, const char *s)
{
    close_list(o);
    text_gap(o);
    text(o, s);
    text(o, "\n");
    o->heading = true;
    html(o, "<h2 style=\"font-size:16px;margin:16px 0 8px 0\">");
    html_text(o, s, false);
    html(o, "</h2>\n");
}

static void field(struct out *o, const char *label, const char *value)
{
    if (!value || !value[0]) {
        return;
    }
    if (!o->open) {
        text_gap(o);
        o->open = true;
    }
    size_t n = strlen(label) + 1;
    text(o, label);
    text(o, ":");
    for (; n < LABEL_WIDTH; n++) {
        text(o, " ");
    }
    text(o, " ");
    text_indented(o, value, LABEL_WIDTH + 1);
    text(o, "\n");
    if (!o->in_list) {
        html(o, "<dl style=\"margin:0 0 12px 0\">\n");
        o->in_list = true;
    }
    html(o, "<dt style=\"font-weight:bold;margin:6px 0 0 0\">");
    html_text(o, label, false);
    html(o, "</dt><dd style=\"margin:0 0 0 0\">");
    html_text(o, value, true);
    html(o, "</dd>\n");
}

/* A link: the text part shows "label: URL", the HTML part the words. */
static void add_link(struct out *o, const char *label, const char *words, const char *url)
{
    close_list(o);
    text_gap(o);
    text(o, label);
    text(o, ": ");
    text(o, url);
    text(o, "\n");
    html(o, "<p style=\"margin:0 0 12px 0\"><a href=\"");
    html_text(o, url, false);
    html(o, "\" style=\"color:#1d4f91;font-weight:bold\">");
    html_text(o, words, false);
    html(o, "</a></p>\n");
}

static void small_print(struct out *o, const char *lawful_basis, const char *id, const char *sent)
{
    char line[160];
    close_list(o);
    text_gap(o);
    text(o, "--\n");
    html(o, "<footer><p style=\"font-size:12px;color:#555555;margin:16px 0 0 0\">");
    if (lawful_basis && lawful_basis[0]) {
        text(o, "Lawful basis: ");
        text_indented(o, lawful_basis, 0);
        text(o, "\n");
        html(o, "Lawful basis: ");
        html_text(o, lawful_basis, true);
        html(o, "<br>\n");
    }
    snprintf(line, sizeof line, "Notification %s%s%s", id ? id : "", sent ? ", " : "",
             sent ? sent : "");
    text(o, line);
    text(o, "\n");
    html_text(o, line, false);
    html(o, "</p></footer>\n");
}

/* ---- values ---- */

static const char *str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static const char *yes_no(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_boolean(v) ? (json_is_true(v) ? "yes" : "no") : NULL;
}

static const char *const months[] = {"January", "February", "March",     "April",
                                     "May",     "June",     "July",      "August",
                                     "September", "October", "November", "December"};

/* The instant ms as "20 November 2026 at 22:14" in the zone. */
static const char *when_ms(const struct out *o, int64_t ms, char *buf, size_t len)
{
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int32_t days, sec;
    if (o->tz) {
        sdat_tz_to_local(o->tz, secs, &days, &sec);
    } else {
        days = (int32_t)(secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400));
        sec = (int32_t)(secs - (int64_t)days * 86400);
    }
    int y, m, d;
    sdat_civil_from_days(days, &y, &m, &d);
    snprintf(buf, len, "%d %s %d at %02d:%02d", d, months[(m - 1) % 12], y, sec / 3600,
             sec / 60 % 60);
    return buf;
}

/* A date-time of the payload as when_ms has it; the text itself when it
 * does not parse. */
static const char *when(const struct out *o, const char *s, char *buf, size_t len)
{
    int64_t ms;
    if (!s || sdat_datetime_parse(s, &ms) < 0) {
        return s;
    }
    return when_ms(o, ms, buf, len);
}

/* "12 April 2016"; the text itself when it does not parse. */
static const char *date(const char *s, char *buf, size_t len)
{
    int32_t days;
    if (!s || sdat_date_parse(s, &days) < 0) {
        return s;
    }
    int y, m, d;
    sdat_civil_from_days(days, &y, &m, &d);
    snprintf(buf, len, "%d %s %d", d, months[(m - 1) % 12], y);
    return buf;
}

/* "derbyshire" → "Derbyshire Police"; a force given otherwise as it is. */
static const char *force_name(const char *force, char *buf, size_t len)
{
    if (!force || !force[0] || strspn(force, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
                                   strlen(force) || strlen(force) + 8 > len) {
        return force && force[0] ? force : "the police";
    }
    size_t i = 0;
    for (const char *p = force; *p; p++) {
        char c = *p == '-' ? ' ' : *p;
        if ((p == force || p[-1] == '-') && c >= 'a' && c <= 'z') {
            c = (char)(c - 'a' + 'A');
        }
        buf[i++] = c;
    }
    snprintf(buf + i, len - i, " Police");
    return buf;
}

static void full_name(const json_t *person, char *buf, size_t len)
{
    const char *g = str(person, "given_name"), *f = str(person, "family_name");
    snprintf(buf, len, "%s%s%s", g ? g : "", g && f ? " " : "", f ? f : "");
}

/* PUBLIC_URL/console/WHAT/ID, or "" without public_url. */
static void console_url(const char *public_url, const char *what, const char *id, char *buf,
                        size_t len)
{
    buf[0] = '\0';
    if (public_url && public_url[0] && id && id[0]) {
        size_t n = strlen(public_url);
        if (public_url[n - 1] == '/') {
            n--;
        }
        snprintf(buf, len, "%.*s/console/%s/%s", (int)n, public_url, what, id);
    }
}

/* ---- blocks shared by kinds ---- */

/* A child as police described it (police-child), and its register id. */
static void police_child_fields(struct out *o, const json_t *child, const char *register_id)
{
    char name[200], buf[64];
    full_name(child, name, sizeof name);
    field(o, "Child", name);
    field(o, "Born", date(str(child, "dob"), buf, sizeof buf));
    const json_t *age = json_object_get(child, "age");
    if (!json_object_get(child, "dob") && json_is_integer(age)) {
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(age));
        field(o, "Age", buf);
    }
    const char *sex = str(child, "sex");
    field(o, "Sex", !sex                   ? NULL
                    : strcmp(sex, "F") == 0 ? "female"
                    : strcmp(sex, "M") == 0 ? "male"
                                            : "not known");
    field(o, "NHS number", str(child, "nhs_number"));
    field(o, "UPN", str(child, "upn"));
    field(o, "Present", yes_no(child, "present"));
    field(o, "Lives at the address", yes_no(child, "resident"));
    field(o, "Spoken to", yes_no(child, "spoken_to"));
    field(o, "What the child said", str(child, "voice"));
    field(o, "School police named", str(child, "school_hint"));
    field(o, "Register record", register_id);
}

/* The incident as police sent it (the non-school payloads). */
static void incident_fields(struct out *o, const json_t *incident, const json_t *officer)
{
    char buf[64], force[96], ref[200], addr[400];
    const char *reference = str(incident, "reference");
    snprintf(ref, sizeof ref, "%s, %s", reference ? reference : "",
             force_name(str(incident, "force"), force, sizeof force));
    field(o, "Police reference", ref);
    field(o, "Incident", when(o, str(incident, "occurred_at"), buf, sizeof buf));
    field(o, "Reported", when(o, str(incident, "reported_at"), buf, sizeof buf));
    const json_t *loc = json_object_get(incident, "location");
    const char *address = str(loc, "address"), *postcode = str(loc, "postcode");
    if (address) {
        snprintf(addr, sizeof addr, "%s%s%s", address, postcode ? ", " : "",
                 postcode ? postcode : "");
        field(o, "Address", addr);
    }
    field(o, "Risk", str(incident, "risk"));
    field(o, "Urgent", yes_no(incident, "urgent"));
    field(o, "Circumstances", str(incident, "circumstances"));
    const char *oname = str(officer, "name"), *oid = str(officer, "id");
    if (oname) {
        char line[200];
        snprintf(line, sizeof line, "%s%s%s%s", oname, oid ? " (" : "", oid ? oid : "",
                 oid ? ")" : "");
        field(o, "Officer", line);
    }
    field(o, "Officer's phone", str(officer, "phone"));
    field(o, "Officer's email", str(officer, "email"));
}

static void candidates_section(struct out *o, const json_t *candidates)
{
    size_t i;
    const json_t *c;
    if (json_array_size(candidates) == 0) {
        para(o, "No child in the register came close.");
        return;
    }
    section(o, "Closest children in the register");
    json_array_foreach(candidates, i, c) {
        char label[32], name[200], line[400], buf[64];
        const char *dob = date(str(c, "dob"), buf, sizeof buf), *score = str(c, "score");
        full_name(c, name, sizeof name);
        snprintf(label, sizeof label, "Candidate %zu", i + 1);
        const char *id = str(c, "child_id") ? str(c, "child_id") : "";
        snprintf(line, sizeof line, "%s%s%s%s(record %s%s%s)", name, dob ? ", born " : "",
                 dob ? dob : "", name[0] || dob ? " " : "", id, score ? ", score " : "",
                 score ? score : "");
        field(o, label, line);
    }
}

static const char *route_reason_text(const char *reason)
{
    static const char *const reasons[][2] = {
        {"school-not-in-directory", "the child's school is not in sdat's directory"},
        {"no-current-education", "the child has no current school place"},
        {"ehe", "the child is electively home educated"},
        {"under-five", "the child is under school age"},
        {"calendar-exhausted", "the school has no school day left in its calendar"},
        {"moved-school", "the child has moved school"},
    };
    for (size_t i = 0; reason && i < sizeof reasons / sizeof reasons[0]; i++) {
        if (strcmp(reasons[i][0], reason) == 0) {
            return reasons[i][1];
        }
    }
    return reason;
}

/* The kind as a person calls it (delivery.md: a letter never shows the
 * kind's token); NULL for a kind sdat does not know. */
static const char *kind_title(const char *kind, bool school)
{
    static const char *const titles[][2] = {
        {"da-incident", "Domestic abuse incident notification"},
        {"da-incident-urgent", "Urgent domestic abuse incident notification"},
        {"unmatched-child", "Unmatched child notification"},
        {"review-needed", "Match to review"},
        {"cpis-access", "CP-IS notification"},
        {"delivery-failed", "Delivery failure notification"},
        {"withdrawn", "Notification withdrawn"},
    };
    if (school && strcmp(kind, "da-incident") == 0) {
        return "Operation Encompass notification";
    }
    for (size_t i = 0; i < sizeof titles / sizeof titles[0]; i++) {
        if (strcmp(titles[i][0], kind) == 0) {
            return titles[i][1];
        }
    }
    return NULL;
}

/* ---- the kinds ---- */

static void da_incident(struct out *o, const json_t *p, bool school, const char *force)
{
    const json_t *child = json_object_get(p, "child"), *incident = json_object_get(p, "incident");
    const json_t *officer = json_object_get(p, "officer");
    char s[300];
    snprintf(s, sizeof s, "A child %s was involved in a domestic abuse incident reported by %s.",
             school ? "on your roll" : "in your area", force);
    para(o, s);
    if (str(p, "amends")) {
        snprintf(s, sizeof s, "This corrects notification %s, sent to you earlier.",
                 str(p, "amends"));
        para(o, s);
    }
    /* The payload's shape, not the recipient's kind, says where the
     * child's circumstances are: a school's payload carries them in the
     * incident (and a redirect may readdress it). */
    if (!json_object_get(incident, "present")) {
        field(o, "Sent to you because", route_reason_text(str(p, "route_reason")));
        police_child_fields(o, child, str(p, "register_child_id"));
        incident_fields(o, incident, officer);
        return;
    }
    char name[200], buf[64], line[300];
    full_name(child, name, sizeof name);
    field(o, "Child", name);
    field(o, "Born", date(str(child, "dob"), buf, sizeof buf));
    field(o, "UPN", str(child, "upn"));
    const char *at = when(o, str(incident, "occurred_at"), buf, sizeof buf);
    const char *reference = str(incident, "reference");
    snprintf(line, sizeof line, "%s%s%s%s", at ? at : "", reference ? " (police reference " : "",
             reference ? reference : "", reference ? ")" : "");
    field(o, "Incident", line);
    field(o, "Present", yes_no(incident, "present"));
    field(o, "Lives at the address", yes_no(incident, "resident"));
    field(o, "Spoken to", yes_no(incident, "spoken_to"));
    field(o, "What the child said", str(incident, "voice"));
    field(o, "Circumstances", str(incident, "circumstances"));
    field(o, "Officer", str(officer, "name"));
    field(o, "Officer's phone", str(officer, "phone"));
    field(o, "Officer's email", str(officer, "email"));
}

static void urgent(struct out *o, const json_t *p, const char *force)
{
    const json_t *incident = json_object_get(p, "incident"), *children;
    const json_t *c;
    size_t i;
    char s[300];
    snprintf(s, sizeof s,
             "%s reported a domestic abuse incident that needs action now; it is sent to you at "
             "once, whatever the time.",
             force);
    para(o, s);
    incident_fields(o, incident, json_object_get(p, "officer"));
    children = json_object_get(p, "children");
    json_array_foreach(children, i, c) {
        static const char *const decisions[][2] = {
            {"match", "found in the register"},
            {"review", "may be in the register: a match to review"},
            {"none", "not found in the register"},
            {"out-of-scope", "outside sdat's scope (age or area)"},
        };
        const char *decision = str(c, "decision"), *said = decision;
        for (size_t k = 0; decision && k < sizeof decisions / sizeof decisions[0]; k++) {
            if (strcmp(decisions[k][0], decision) == 0) {
                said = decisions[k][1];
            }
        }
        snprintf(s, sizeof s, "Child %zu", i + 1);
        section(o, s);
        police_child_fields(o, json_object_get(c, "child"), str(c, "register_child_id"));
        field(o, "Register", said);
    }
}

static void unmatched(struct out *o, const json_t *p, const char *force, bool review,
                      const char *public_url)
{
    char s[400], url[1200];
    snprintf(s, sizeof s,
             review ? "A child in a domestic abuse incident reported by %s may be one of the "
                      "children below in the register, and sdat could not be sure which."
                    : "A child in a domestic abuse incident reported by %s could not be matched "
                      "to any child in the register.",
             force);
    para(o, s);
    para(o, review ? "Please decide whether the child is one of these children: accept that "
                     "match, or reject them all, in the console."
                   : "Please find out who the child is and pass this on to the school or team "
                     "that should know, or record why no one needs to.");
    police_child_fields(o, json_object_get(p, "child"), NULL);
    incident_fields(o, json_object_get(p, "incident"), json_object_get(p, "officer"));
    candidates_section(o, json_object_get(p, "candidates"));
    if (review) {
        console_url(public_url, "reviews", str(p, "review_id"), url, sizeof url);
    } else {
        console_url(public_url, "notifications", str(p, "notification_id"), url, sizeof url);
    }
    if (url[0]) {
        add_link(o, "Decide in the console", review ? "Review the match in the console"
                                                : "Open this notification in the console",
             url);
    }
}

static const char *flag_name(const char *type)
{
    if (!type) {
        return "A flag";
    }
    return strcmp(type, "CPP") == 0    ? "Child protection plan"
           : strcmp(type, "LAC") == 0  ? "Looked-after child"
           : strcmp(type, "UCPP") == 0 ? "Unborn child protection plan"
                                       : type;
}

static void cpis_access(struct out *o, const json_t *p)
{
    const json_t *patient = json_object_get(p, "patient");
    const json_t *att = json_object_get(p, "attendance"), *f, *a;
    char s[400], buf[64], name[200];
    size_t i;
    const char *setting = str(att, "setting"), *ods = str(att, "ods_code");
    snprintf(s, sizeof s,
             "A child with a child protection information flag attended %s%s%s%s on %s.",
             setting ? setting : "an unscheduled care setting", ods ? " (" : "", ods ? ods : "",
             ods ? ")" : "", when(o, str(att, "arrived_at"), buf, sizeof buf));
    para(o, s);
    full_name(patient, name, sizeof name);
    field(o, "Child", name);
    field(o, "NHS number", str(patient, "nhs_number"));
    field(o, "Born", date(str(patient, "dob"), buf, sizeof buf));
    field(o, "Setting", setting);
    field(o, "ODS code", ods);
    field(o, "Arrived", when(o, str(att, "arrived_at"), buf, sizeof buf));
    json_array_foreach(json_object_get(p, "flags"), i, f) {
        char from[64], to[64], due[64], line[300];
        const char *start = date(str(f, "start_date"), from, sizeof from);
        const char *end = date(str(f, "end_date"), to, sizeof to);
        const char *edd = date(str(f, "expected_delivery_date"), due, sizeof due);
        snprintf(line, sizeof line, "%s from %s%s%s%s%s", flag_name(str(f, "type")),
                 start ? start : "", end ? " to " : "", end ? end : "",
                 edd ? ", expected delivery " : "", edd ? edd : "");
        field(o, "Flag", line);
        field(o, "Flag id", str(f, "flag_id"));
    }
    const json_t *accesses = json_object_get(p, "accesses");
    if (json_array_size(accesses) > 0) {
        section(o, "Earlier attendances");
        json_array_foreach(accesses, i, a) {
            char label[32], line[300];
            const char *aods = str(a, "ods_code");
            snprintf(label, sizeof label, "Attendance %zu", i + 1);
            snprintf(line, sizeof line, "%s%s%s%s, %s", str(a, "setting") ? str(a, "setting") : "",
                     aods ? " (" : "", aods ? aods : "", aods ? ")" : "",
                     when(o, str(a, "arrived_at"), buf, sizeof buf));
            field(o, label, line);
        }
    }
}

static void delivery_failed(struct out *o, const json_t *p, const char *public_url)
{
    const json_t *fr = json_object_get(p, "failed_recipient");
    const char *reason = str(p, "reason"), *who = str(fr, "name") ? str(fr, "name") : str(fr, "id");
    const char *failed_id = str(p, "failed_notification_id");
    const char *failed_kind = str(p, "failed_kind");
    char s[500], url[1200], buf[32];
    const char *what = reason && strcmp(reason, "unacknowledged") == 0
                           ? "was delivered but has not been acknowledged in time"
                       : reason && strcmp(reason, "failed") == 0
                           ? "could not be delivered, and sdat has stopped trying"
                           : "has not been delivered in time; sdat is still trying";
    /* The failed one's title as its own letter has it: a da-incident in
     * the school's shape (see da_incident) is an Operation Encompass
     * notification. */
    const json_t *failed = json_object_get(p, "notification");
    bool school_shape = json_object_get(json_object_get(failed, "incident"), "present") != NULL;
    const char *failed_title = failed_kind ? kind_title(failed_kind, school_shape) : NULL;
    snprintf(s, sizeof s, "%s for %s %s.", failed_title ? failed_title : "A notification",
             who ? who : "a recipient", what);
    para(o, s);
    snprintf(s, sizeof s,
             "Please make sure %s learns of it another way, for example by phone, and find out "
             "why it did not arrive.",
             who ? who : "the recipient");
    para(o, s);
    field(o, "Notification", failed_id);
    field(o, "Kind", failed_title ? failed_title : failed_kind);
    if (who) {
        char line[300];
        snprintf(line, sizeof line, "%s (%s)", who, str(fr, "id") ? str(fr, "id") : "");
        field(o, "Recipient", line);
    }
    const json_t *attempts = json_object_get(p, "attempts");
    if (json_is_integer(attempts)) {
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(attempts));
        field(o, "Attempts", buf);
    }
    field(o, "Last error", str(p, "last_error"));
    console_url(public_url, "notifications", failed_id, url, sizeof url);
    if (url[0]) {
        add_link(o, "In the console", "Open the undelivered notification in the console", url);
    }
}

/* The earlier notification by id and, when the caller knows it, date
 * (delivery.md): the payload carries only the id. */
static void withdrawn(struct out *o, const json_t *p, int64_t sent_ms)
{
    char s[300], at[64] = "", buf[48];
    if (sent_ms > 0) {
        snprintf(at, sizeof at, " of %s", when_ms(o, sent_ms, buf, sizeof buf));
    }
    snprintf(s, sizeof s,
             "Notification %s%s, which sdat sent to you earlier, was sent in error. Please delete "
             "it, and any copies or notes made from it.",
             str(p, "withdraws") ? str(p, "withdraws") : "", at);
    para(o, s);
}

/* ---- the document ---- */

static void out_free(struct out *o)
{
    free(o->text.data);
    free(o->body.data);
}

/* Wraps the body in an <article>, then a whole document around it. */
static int finish(struct out *o, const char *doc_title, struct sdat_letter *ret)
{
    struct out doc = {0};
    close_list(o);
    html(&doc, "<!DOCTYPE html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width\">\n<title>");
    html_text(&doc, doc_title, false);
    html(&doc, "</title>\n</head>\n<body style=\"margin:0;padding:16px;background:#ffffff;"
               "color:#1a1a1a;font-family:Arial,Helvetica,sans-serif;font-size:15px;"
               "line-height:1.45\">\n");
    /* main: a screen reader's landmark (axe-core: landmark-one-main, region) */
    html(&doc, "<main>\n<article style=\"max-width:640px;overflow-wrap:anywhere\">\n");
    if (o->body.data) {
        html(&doc, o->body.data);
    }
    html(&doc, "</article>\n</main>\n</body>\n</html>\n");
    /* The console's copy: without the inline styles (its policy allows
     * none), and its headings two levels down to sit under the page's h2.
     * Every value's '<' and '"' are escaped, so what is replaced is ours. */
    static const char *const swaps[][2] = {{"<h1", "<h3"}, {"</h1>", "</h3>"},
                                           {"<h2", "<h4"}, {"</h2>", "</h4>"}};
    struct out article = {0};
    html(&article, "<article>\n");
    for (const char *p = o->body.data ? o->body.data : ""; *p;) {
        if (strncmp(p, " style=\"", 8) == 0) {
            const char *end = strchr(p + 8, '"');
            p = end ? end + 1 : p + strlen(p);
            continue;
        }
        size_t k = 0;
        for (; k < sizeof swaps / sizeof swaps[0]; k++) {
            if (strncmp(p, swaps[k][0], strlen(swaps[k][0])) == 0) {
                html(&article, swaps[k][1]);
                p += strlen(swaps[k][0]);
                break;
            }
        }
        if (k == sizeof swaps / sizeof swaps[0]) {
            add(&article, &article.body, p++, 1);
        }
    }
    html(&article, "</article>\n");
    if (o->failed || doc.failed || article.failed || !o->text.data) {
        out_free(o);
        out_free(&doc);
        out_free(&article);
        return -ENOMEM;
    }
    free(o->body.data);
    *ret = (struct sdat_letter){.text = o->text.data, .html = doc.body.data,
                                .body = article.body.data};
    return 0;
}

int sdat_letter_render(const struct sdat_letter_in *in, struct sdat_letter *ret)
{
    const json_t *p = in->payload;
    const char *kind = str(p, "kind");
    bool school = in->recipient_kind && strcmp(in->recipient_kind, "school") == 0;
    const char *what = kind ? kind_title(kind, school) : NULL;
    if (!json_is_object(p) || !what) {
        return -EINVAL;
    }
    const json_t *recipient = json_object_get(p, "recipient");
    const char *name = in->recipient_name ? in->recipient_name : str(recipient, "name");
    if (!name) {
        name = str(recipient, "id") ? str(recipient, "id") : "you";
    }
    struct out o = {.tz = in->tz};
    char head[400], force[96], buf[64];
    snprintf(head, sizeof head, "%s for %s", what, name);
    title(&o, head);
    const char *police = force_name(str(json_object_get(p, "incident"), "force"), force,
                                    sizeof force);
    if (strcmp(kind, "da-incident") == 0) {
        da_incident(&o, p, school, police);
    } else if (strcmp(kind, "da-incident-urgent") == 0) {
        urgent(&o, p, police);
    } else if (strcmp(kind, "unmatched-child") == 0 || strcmp(kind, "review-needed") == 0) {
        unmatched(&o, p, police, strcmp(kind, "review-needed") == 0, in->public_url);
    } else if (strcmp(kind, "cpis-access") == 0) {
        cpis_access(&o, p);
    } else if (strcmp(kind, "delivery-failed") == 0) {
        delivery_failed(&o, p, in->public_url);
    } else {
        withdrawn(&o, p, in->withdraws_sent_ms);
    }
    if (strcmp(kind, "withdrawn") != 0) {
        if (in->guidance && in->guidance[0]) {
            section(&o, "What to do now");
            para(&o, in->guidance);
        }
        const char *ack = str(p, "ack_url");
        if (ack && ack[0]) {
            add_link(&o, "Acknowledge", "Acknowledge that you have received this", ack);
        }
    }
    snprintf(head + strlen(head), sizeof head - strlen(head), " (%s)",
             str(p, "notification_id") ? str(p, "notification_id") : "");
    const char *sent = when(&o, str(p, "created_at"), buf, sizeof buf);
    char sent_line[96];
    snprintf(sent_line, sizeof sent_line, "sent %s", sent ? sent : "");
    small_print(&o, str(p, "lawful_basis"), str(p, "notification_id"), sent ? sent_line : NULL);
    return finish(&o, what, ret);
}

int sdat_letter_link(const char *kind, const char *notification_id, const char *recipient_name,
                     const char *recipient_kind, const char *public_url,
                     struct sdat_letter *ret)
{
    struct out o = {0};
    char s[400], url[1200];
    bool school = recipient_kind && strcmp(recipient_kind, "school") == 0;
    const char *what = kind ? kind_title(kind, school) : NULL;
    /* The full letter's heading, which the reader then finds in the
     * console; it names the kind and the recipient, nothing of the child. */
    snprintf(s, sizeof s, "%s for %s", what ? what : "Safeguarding notification",
             recipient_name ? recipient_name : "you");
    title(&o, s);
    para(&o, "It is waiting for you in the sdat console. For the child's safety this email "
             "holds none of its details: please read it there, logging in with your own "
             "token.");
    console_url(public_url, "notifications", notification_id, url, sizeof url);
    if (url[0]) {
        add_link(&o, "Read it at", "Read the notification in the console", url);
    } else {
        para(&o, "Your safeguarding lead or the MASH can tell you the console's address.");
    }
    small_print(&o, NULL, notification_id, NULL);
    return finish(&o, "Safeguarding notification waiting", ret);
}

void sdat_letter_free(struct sdat_letter *letter)
{
    if (!letter) {
        return;
    }
    free(letter->text);
    free(letter->html);
    free(letter->body);
    *letter = (struct sdat_letter){0};
}
