/* The official JSON Schema test suite (draft 2020-12) against the validator.
 * Every case runs unless the table below excludes it, with the reason; an
 * excluded case that passes is reported, so the list stays honest. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decide/decide.h"

static const struct {
    const char *file;
    const char *group;
    const char *reason;
} exclusions[] = {
    {"anchor.json", "Location-independent identifier", "$anchor is not supported (sdat schemas use JSON Pointer refs)"},
    {"anchor.json", "Location-independent identifier with absolute URI", "$anchor is not supported (sdat schemas use JSON Pointer refs)"},
    {"anchor.json", "Location-independent identifier with base URI change in subschema", "$anchor is not supported (sdat schemas use JSON Pointer refs)"},
    {"anchor.json", "same $anchor with different base uri", "$anchor is not supported (sdat schemas use JSON Pointer refs)"},
    {"defs.json", "validate definition against metaschema", "needs the remote draft 2020-12 metaschema"},
    {"dynamicRef.json", "$dynamicRef avoids the root of each schema, but scopes are still registered", "$dynamicRef is not supported"},
    {"dynamicRef.json", "$dynamicRef points to a boolean schema", "$dynamicRef is not supported"},
    {"dynamicRef.json", "$dynamicRef skips over intermediate resources - direct reference", "$dynamicRef is not supported"},
    {"dynamicRef.json", "$ref and $dynamicAnchor are independent of order - $defs first", "$dynamicRef is not supported"},
    {"dynamicRef.json", "$ref and $dynamicAnchor are independent of order - $ref first", "$dynamicRef is not supported"},
    {"dynamicRef.json", "$ref to $dynamicRef finds detached $dynamicAnchor", "$dynamicRef is not supported"},
    {"dynamicRef.json", "A $dynamicRef resolves to the first $dynamicAnchor still in scope that is encountered when the schema is evaluated", "$dynamicRef is not supported"},
    {"dynamicRef.json", "A $dynamicRef that initially resolves to a schema with a matching $dynamicAnchor resolves to the first $dynamicAnchor in the dynamic scope", "$dynamicRef is not supported"},
    {"dynamicRef.json", "A $dynamicRef that initially resolves to a schema without a matching $dynamicAnchor behaves like a normal $ref to $anchor", "$dynamicRef is not supported"},
    {"dynamicRef.json", "A $dynamicRef to a $dynamicAnchor in the same schema resource behaves like a normal $ref to an $anchor", "$dynamicRef is not supported"},
    {"dynamicRef.json", "A $dynamicRef to an $anchor in the same schema resource behaves like a normal $ref to an $anchor", "$dynamicRef is not supported"},
    {"dynamicRef.json", "A $dynamicRef with a non-matching $dynamicAnchor in the same schema resource behaves like a normal $ref to $anchor", "$dynamicRef is not supported"},
    {"dynamicRef.json", "A $dynamicRef with intermediate scopes that don't include a matching $dynamicAnchor does not affect dynamic scope resolution", "$dynamicRef is not supported"},
    {"dynamicRef.json", "A $dynamicRef without a matching $dynamicAnchor in the same schema resource behaves like a normal $ref to $anchor", "$dynamicRef is not supported"},
    {"dynamicRef.json", "A $dynamicRef without anchor in fragment behaves identical to $ref", "$dynamicRef is not supported"},
    {"dynamicRef.json", "A $ref to a $dynamicAnchor in the same schema resource behaves like a normal $ref to an $anchor", "$dynamicRef is not supported"},
    {"dynamicRef.json", "An $anchor with the same name as a $dynamicAnchor is not used for dynamic scope resolution", "$dynamicRef is not supported"},
    {"dynamicRef.json", "after leaving a dynamic scope, it is not used by a $dynamicRef", "$dynamicRef is not supported"},
    {"dynamicRef.json", "multiple dynamic paths to the $dynamicRef keyword", "$dynamicRef is not supported"},
    {"dynamicRef.json", "strict-tree schema, guards against misspelled properties", "$dynamicRef is not supported"},
    {"dynamicRef.json", "tests for implementation dynamic anchor and reference link", "$dynamicRef is not supported"},
    {"format.json", "date format", "sdat asserts formats (events.md); the suite expects annotation only"},
    {"format.json", "date-time format", "sdat asserts formats (events.md); the suite expects annotation only"},
    {"not.json", "collect annotations inside a 'not', even if collection is disabled", "needs unevaluatedProperties"},
    {"pattern.json", "pattern with Unicode property escape requires unicode mode", "ECMA-262 \\p{...} is not POSIX ERE (events.md validator notes)"},
    {"patternProperties.json", "patternProperties with Unicode property escape", "ECMA-262 \\p{...} is not POSIX ERE (events.md validator notes)"},
    {"ref.json", "$id must be resolved against nearest parent, not just immediate parent", "$id-based base URI resolution is not supported (JSON Pointer refs only)"},
    {"ref.json", "Recursive references between schemas", "$id-based base URI resolution is not supported (JSON Pointer refs only)"},
    {"ref.json", "URN base URI with URN and JSON pointer ref", "$id-based base URI resolution is not supported (JSON Pointer refs only)"},
    {"ref.json", "URN base URI with URN and anchor ref", "$anchor is not supported"},
    {"ref.json", "URN ref with nested pointer ref", "$id-based base URI resolution is not supported (JSON Pointer refs only)"},
    {"ref.json", "order of evaluation: $id and $anchor and $ref", "$anchor is not supported"},
    {"ref.json", "order of evaluation: $id and $ref", "$id-based base URI resolution is not supported (JSON Pointer refs only)"},
    {"ref.json", "order of evaluation: $id and $ref on nested schema", "$id-based base URI resolution is not supported (JSON Pointer refs only)"},
    {"ref.json", "ref creates new scope when adjacent to keywords", "needs unevaluatedProperties"},
    {"ref.json", "ref to else", "$id-based base URI resolution is not supported (JSON Pointer refs only)"},
    {"ref.json", "ref to if", "$id-based base URI resolution is not supported (JSON Pointer refs only)"},
    {"ref.json", "ref to then", "$id-based base URI resolution is not supported (JSON Pointer refs only)"},
    {"ref.json", "ref with absolute-path-reference", "$id-based base URI resolution is not supported (JSON Pointer refs only)"},
    {"ref.json", "refs with relative uris and defs", "$id-based base URI resolution is not supported (JSON Pointer refs only)"},
    {"ref.json", "relative refs with absolute uris and defs", "$id-based base URI resolution is not supported (JSON Pointer refs only)"},
    {"ref.json", "remote ref, containing refs itself", "needs a remote metaschema"},
    {"ref.json", "simple URN base URI with $ref via the URN", "$id-based base URI resolution is not supported (JSON Pointer refs only)"},
    {"refRemote.json", "$ref to $ref finds detached $anchor", "remote references: sdat schemas are self-contained"},
    {"refRemote.json", "Location-independent identifier in remote ref", "remote references: sdat schemas are self-contained"},
    {"refRemote.json", "anchor within remote ref", "remote references: sdat schemas are self-contained"},
    {"refRemote.json", "base URI change", "remote references: sdat schemas are self-contained"},
    {"refRemote.json", "base URI change - change folder", "remote references: sdat schemas are self-contained"},
    {"refRemote.json", "base URI change - change folder in subschema", "remote references: sdat schemas are self-contained"},
    {"refRemote.json", "fragment within remote ref", "remote references: sdat schemas are self-contained"},
    {"refRemote.json", "ref within remote ref", "remote references: sdat schemas are self-contained"},
    {"refRemote.json", "remote HTTP ref with different $id", "remote references: sdat schemas are self-contained"},
    {"refRemote.json", "remote HTTP ref with different URN $id", "remote references: sdat schemas are self-contained"},
    {"refRemote.json", "remote HTTP ref with nested absolute ref", "remote references: sdat schemas are self-contained"},
    {"refRemote.json", "remote ref", "remote references: sdat schemas are self-contained"},
    {"refRemote.json", "remote ref with ref to defs", "remote references: sdat schemas are self-contained"},
    {"refRemote.json", "retrieved nested refs resolve relative to their URI not $id", "remote references: sdat schemas are self-contained"},
    {"refRemote.json", "root ref in remote ref", "remote references: sdat schemas are self-contained"},
    {"unevaluatedItems.json", "Evaluated items collection needs to consider instance location", "unevaluatedItems is not supported"},
    {"unevaluatedItems.json", "item is evaluated in an uncle schema to unevaluatedItems", "unevaluatedItems is not supported"},
    {"unevaluatedItems.json", "unevaluatedItems and contains interact to control item dependency relationship", "unevaluatedItems is not supported"},
    {"unevaluatedItems.json", "unevaluatedItems as schema", "unevaluatedItems is not supported"},
    {"unevaluatedItems.json", "unevaluatedItems before $ref", "unevaluatedItems is not supported"},
    {"unevaluatedItems.json", "unevaluatedItems can see annotations from if without then and else", "unevaluatedItems is not supported"},
    {"unevaluatedItems.json", "unevaluatedItems can't see inside cousins", "unevaluatedItems is not supported"},
    {"unevaluatedItems.json", "unevaluatedItems depends on adjacent contains", "unevaluatedItems is not supported"},
    {"unevaluatedItems.json", "unevaluatedItems depends on multiple nested contains", "unevaluatedItems is not supported"},
    {"unevaluatedItems.json", "unevaluatedItems false", "unevaluatedItems is not supported"},
    {"unevaluatedItems.json", "unevaluatedItems with $dynamicRef", "unevaluatedItems is not supported"},
    {"unevaluatedItems.json", "unevaluatedItems with $ref", "unevaluatedItems is not supported"},
    {"unevaluatedItems.json", "unevaluatedItems with anyOf", "unevaluatedItems is not supported"},
    {"unevaluatedItems.json", "unevaluatedItems with boolean schemas", "unevaluatedItems is not supported"},
    {"unevaluatedItems.json", "unevaluatedItems with if/then/else", "unevaluatedItems is not supported"},
    {"unevaluatedItems.json", "unevaluatedItems with minContains = 0", "unevaluatedItems is not supported"},
    {"unevaluatedItems.json", "unevaluatedItems with nested items", "unevaluatedItems is not supported"},
    {"unevaluatedItems.json", "unevaluatedItems with nested tuple", "unevaluatedItems is not supported"},
    {"unevaluatedItems.json", "unevaluatedItems with not", "unevaluatedItems is not supported"},
    {"unevaluatedItems.json", "unevaluatedItems with oneOf", "unevaluatedItems is not supported"},
    {"unevaluatedItems.json", "unevaluatedItems with tuple", "unevaluatedItems is not supported"},
    {"unevaluatedProperties.json", "Evaluated properties collection needs to consider instance location", "unevaluatedProperties is not supported"},
    {"unevaluatedProperties.json", "Evaluated properties collection needs to consider instance location with additionalProperties", "unevaluatedProperties is not supported"},
    {"unevaluatedProperties.json", "Evaluated properties collection needs to consider instance location with patternProperties", "unevaluatedProperties is not supported"},
    {"unevaluatedProperties.json", "cousin unevaluatedProperties, true and false, false with properties", "unevaluatedProperties is not supported"},
    {"unevaluatedProperties.json", "cousin unevaluatedProperties, true and false, true with properties", "unevaluatedProperties is not supported"},
    {"unevaluatedProperties.json", "dependentSchemas with unevaluatedProperties", "unevaluatedProperties is not supported"},
    {"unevaluatedProperties.json", "dynamic evalation inside nested refs", "unevaluatedProperties is not supported"},
    {"unevaluatedProperties.json", "in-place applicator siblings, allOf has unevaluated", "unevaluatedProperties is not supported"},
    {"unevaluatedProperties.json", "in-place applicator siblings, anyOf has unevaluated", "unevaluatedProperties is not supported"},
    {"unevaluatedProperties.json", "nested unevaluatedProperties, outer true, inner false, properties inside", "unevaluatedProperties is not supported"},
    {"unevaluatedProperties.json", "nested unevaluatedProperties, outer true, inner false, properties outside", "unevaluatedProperties is not supported"},
    {"unevaluatedProperties.json", "property is evaluated in an uncle schema to unevaluatedProperties", "unevaluatedProperties is not supported"},
    {"unevaluatedProperties.json", "unevaluatedProperties + single cyclic ref", "unevaluatedProperties is not supported"},
    {"unevaluatedProperties.json", "unevaluatedProperties before $ref", "unevaluatedProperties is not supported"},
    {"unevaluatedProperties.json", "unevaluatedProperties can see annotations from if without then and else", "unevaluatedProperties is not supported"},
    {"unevaluatedProperties.json", "unevaluatedProperties can't see inside cousins", "unevaluatedProperties is not supported"},
    {"unevaluatedProperties.json", "unevaluatedProperties can't see inside cousins (reverse order)", "unevaluatedProperties is not supported"},
    {"unevaluatedProperties.json", "unevaluatedProperties false", "unevaluatedProperties is not supported"},
    {"unevaluatedProperties.json", "unevaluatedProperties not affected by propertyNames", "unevaluatedProperties is not supported"},
    {"unevaluatedProperties.json", "unevaluatedProperties schema", "unevaluatedProperties is not supported"},
    {"unevaluatedProperties.json", "unevaluatedProperties with $dynamicRef", "unevaluatedProperties is not supported"},
    {"unevaluatedProperties.json", "unevaluatedProperties with $ref", "unevaluatedProperties is not supported"},
    {"unevaluatedProperties.json", "unevaluatedProperties with adjacent patternProperties", "unevaluatedProperties is not supported"},
    {"unevaluatedProperties.json", "unevaluatedProperties with adjacent properties", "unevaluatedProperties is not supported"},
    {"unevaluatedProperties.json", "unevaluatedProperties with anyOf", "unevaluatedProperties is not supported"},
    {"unevaluatedProperties.json", "unevaluatedProperties with boolean schemas", "unevaluatedProperties is not supported"},
    {"unevaluatedProperties.json", "unevaluatedProperties with dependentSchemas", "unevaluatedProperties is not supported"},
    {"unevaluatedProperties.json", "unevaluatedProperties with if/then/else", "unevaluatedProperties is not supported"},
    {"unevaluatedProperties.json", "unevaluatedProperties with if/then/else, else not defined", "unevaluatedProperties is not supported"},
    {"unevaluatedProperties.json", "unevaluatedProperties with if/then/else, then not defined", "unevaluatedProperties is not supported"},
    {"unevaluatedProperties.json", "unevaluatedProperties with nested patternProperties", "unevaluatedProperties is not supported"},
    {"unevaluatedProperties.json", "unevaluatedProperties with nested properties", "unevaluatedProperties is not supported"},
    {"unevaluatedProperties.json", "unevaluatedProperties with not", "unevaluatedProperties is not supported"},
    {"unevaluatedProperties.json", "unevaluatedProperties with oneOf", "unevaluatedProperties is not supported"},
    {"vocabulary.json", "schema that uses custom metaschema with with no validation vocabulary", "custom metaschemas and vocabularies are not supported"},
};

static const char *excluded(const char *file, const char *group)
{
    for (size_t i = 0; i < sizeof exclusions / sizeof exclusions[0]; i++) {
        if (strcmp(exclusions[i].file, file) == 0 &&
            strcmp(exclusions[i].group, group) == 0) {
            return exclusions[i].reason;
        }
    }
    return NULL;
}

static const char *suite_dir(void)
{
    const char *env = getenv("SDAT_JSON_SCHEMA_SUITE");
    return env ? env : "../shared/data/json-schema-test-suite/tests/draft2020-12";
}

struct tally {
    int passed, failed, excluded, excluded_but_pass;
};

static void run_file(const char *name, struct tally *t)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", suite_dir(), name);
    json_error_t jerr;
    json_t *groups = json_load_file(path, JSON_ALLOW_NUL, &jerr);
    cr_assert_not_null(groups, "%s: %s", path, jerr.text);
    size_t gi;
    json_t *group;
    json_array_foreach(groups, gi, group)
    {
        const char *desc = json_string_value(json_object_get(group, "description"));
        const char *why = excluded(name, desc);
        sdat_schema_t *schema = NULL;
        char err[256];
        int cr = sdat_schema_compile(json_object_get(group, "schema"), &schema, err, sizeof err);
        size_t ti;
        json_t *test;
        json_array_foreach(json_object_get(group, "tests"), ti, test)
        {
            bool expect = json_is_true(json_object_get(test, "valid"));
            struct sdat_validation v;
            bool got = cr == 0 && sdat_schema_validate(schema, json_object_get(test, "data"), &v) == 0;
            if (why) {
                t->excluded++;
                t->excluded_but_pass += cr == 0 && got == expect;
            } else if (cr == 0 && got == expect) {
                t->passed++;
            } else {
                t->failed++;
                cr_log_error("%s: \"%s\" / \"%s\": expected %s, got %s%s%s", name, desc,
                             json_string_value(json_object_get(test, "description")),
                             expect ? "valid" : "invalid", got ? "valid" : "invalid",
                             cr ? "; compile: " : "", cr ? err : "");
            }
        }
        sdat_schema_free(schema);
    }
    json_decref(groups);
}

Test(schema, official_suite_draft2020_12_passes_except_listed_exclusions)
{
    struct tally t = {0};
    DIR *d = opendir(suite_dir());
    cr_assert_not_null(d, "the suite is not at %s", suite_dir());
    struct dirent *e;
    char *names[128];
    size_t n = 0;
    while ((e = readdir(d)) && n < 126) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0) {
            names[n++] = strdup(e->d_name);
        }
    }
    closedir(d);
    names[n++] = strdup("optional/format/date.json");
    names[n++] = strdup("optional/format/date-time.json");
    for (size_t i = 0; i < n; i++) {
        run_file(names[i], &t);
        free(names[i]);
    }
    printf("json-schema-test-suite: %d passed, %d failed, %d excluded (%d of them pass anyway)\n",
           t.passed, t.failed, t.excluded, t.excluded_but_pass);
    cr_assert_eq(t.failed, 0, "%d suite cases failed (see the log)", t.failed);
    cr_assert_gt(t.passed, 800);
}

/* quality.md S8: an issue names schema-known properties and indices only.
 * Below a property that patternProperties or additionalProperties lets in,
 * the path stops at the parent; no rule quotes a name or a value. */
Test(schema, issues_name_only_what_the_schema_knows)
{
    json_t *doc = json_loads(
        "{\"type\":\"object\",\"properties\":{\"kids\":{\"type\":\"array\",\"items\":{"
        "\"type\":\"object\",\"properties\":{\"dob\":{\"type\":\"string\",\"format\":\"date\"}},"
        "\"patternProperties\":{\"^x-\":{\"type\":\"integer\"}},"
        "\"additionalProperties\":{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"string\","
        "\"pattern\":\"^[0-9]+$\"}}},"
        "\"propertyNames\":{\"maxLength\":40}}}},"
        "\"dependentRequired\":{\"kids\":[\"la\"]},\"additionalProperties\":false}",
        0, NULL);
    cr_assert_not_null(doc);
    sdat_schema_t *schema;
    char err[256];
    cr_assert_eq(sdat_schema_compile(doc, &schema, err, sizeof err), 0, "%s", err);
    json_t *x = json_loads("{\"kids\":[{\"dob\":\"Quillbrook\"},"
                           "{\"x-Quillbrook\":\"9434765919\","
                           "\"Ada Quillbrook\":{\"n\":\"Quillbrook\"},"
                           "\"Ada Quillbrook 2015-03-04 9434765919 and more words\":{}}],"
                           "\"Quillbrook\\n2026-01-01T00:00:00Z info delivered\":1}",
                           0, NULL);
    cr_assert_not_null(x);
    struct sdat_validation v;
    cr_assert_eq(sdat_schema_validate(schema, x, &v), 1);
    static const struct {
        const char *path, *message;
    } want[] = {
        {"/kids/0/dob", "is not a real calendar date (YYYY-MM-DD)"},
        {"/kids/1", "in a property the schema does not name: must be an integer"},
        {"/kids/1", "in a property the schema does not name: does not match the pattern"},
        {"/kids/1", "has a property whose name is not allowed"},
        {"", "property \"la\" is required when \"kids\" is present"}, /* the schema's names */
        {"", "has a property that is not allowed"},
    };
    bool seen[sizeof want / sizeof want[0]] = {false};
    for (size_t i = 0; i < v.n_errors; i++) {
        const char *path = v.errors[i].path, *message = v.errors[i].message;
        cr_assert_null(strstr(path, "Quillbrook"), "%s", path);
        cr_assert_null(strstr(message, "Quillbrook"), "%s", message);
        cr_assert_null(strstr(message, "9434765919"), "%s", message);
        cr_assert_null(strchr(message, '\n'), "%s", message);
        bool known = false;
        for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
            if (strcmp(want[k].path, path) == 0 && strstr(message, want[k].message)) {
                seen[k] = known = true;
            }
        }
        cr_assert(known, "unexpected issue %s: %s", path, message);
    }
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        cr_assert(seen[k], "missing issue %s: %s", want[k].path, want[k].message);
    }
    json_decref(x);
    sdat_schema_free(schema);
    json_decref(doc);
}

/* `pattern` and `patternProperties` answer as glibc's regexec (POSIX ERE)
 * answers, whether the validator's direct matcher decides (^...$ of
 * single-character atoms, as in schemas/) or regexec does (anything else,
 * or a string that needs too much backtracking). */
Test(schema, pattern_answers_are_regexec_answers)
{
    static const char *const patterns[] = {
        "^n_[0-9a-f]{32}$", "^[a-z0-9:._-]{1,64}$", "^[A-Za-z0-9/_-]{1,64}$", "^[0-9]{1,12}$",
        "^[a-z0-9-]{2,40}$", "^-?[0-9]+(\\.[0-9]+)?$", "^[a-z-]+\\.[a-z-]+$|^checkpoint$",
        "^a*a*a*a*a*a*a*a*b$", "^x?x?x?x?x?xxxxx$", "^[0-9]{2,5}[0-9]{1,3}$", "^a{0,900}a{0,900}b$",
        "^$", "^[-a]+$", "^[a-]+$", "^\\.\\$x\\{$", "^a{2,}$", "^ab+c?$", "^[^a]$", "^.$", "a+",
        "^[[:alpha:]]+$", "^[\\d]$",
    };
    static const char *const subjects[] = {
        "", "a", "b", "-", "aa", "ab", "abbb", "abc", "n_0123456789abcdef0123456789abcdef",
        "n_0123456789abcdef0123456789abcdeF", "school:100001", "A/b_-9", "123456789012",
        "1234567890123", "12", "-1.5", "1.", "audit.record", "checkpoint", "checkpoints",
        "xxxxx", "xxxxxxxxxx", "xxxxxxxxxxx", ".$x{", "\\", "d", "\xc3\xa9", "a\xc3\xa9",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaac",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
    };
    for (size_t p = 0; p < sizeof patterns / sizeof patterns[0]; p++) {
        regex_t re;
        cr_assert_eq(regcomp(&re, patterns[p], REG_EXTENDED | REG_NOSUB), 0, "%s", patterns[p]);
        json_t *doc = json_pack("{s:s}", "pattern", patterns[p]);
        json_t *props = json_pack("{s:{s:{s:s}},s:b}", "patternProperties", patterns[p], "type",
                                  "integer", "additionalProperties", 0);
        sdat_schema_t *schema, *by_name;
        char err[256];
        cr_assert_eq(sdat_schema_compile(doc, &schema, err, sizeof err), 0, "%s", err);
        cr_assert_eq(sdat_schema_compile(props, &by_name, err, sizeof err), 0, "%s", err);
        for (size_t s = 0; s < sizeof subjects / sizeof subjects[0]; s++) {
            bool want = regexec(&re, subjects[s], 0, NULL, 0) == 0;
            json_t *x = json_string(subjects[s]);
            json_t *member = json_pack("{s:i}", subjects[s], 1);
            cr_assert_not_null(x);
            cr_assert_not_null(member);
            struct sdat_validation v;
            cr_expect_eq(sdat_schema_validate(schema, x, &v) == 0, want, "pattern %s on \"%s\"",
                         patterns[p], subjects[s]);
            cr_expect_eq(sdat_schema_validate(by_name, member, &v) == 0, want,
                         "patternProperties %s on \"%s\"", patterns[p], subjects[s]);
            json_decref(member);
            json_decref(x);
        }
        sdat_schema_free(by_name);
        sdat_schema_free(schema);
        json_decref(props);
        json_decref(doc);
        regfree(&re);
    }
}
