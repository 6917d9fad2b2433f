// COQL: POST /crm/v2/coql {"select_query": "..."}. A restricted but honest
// grammar (evidence: /tmp/evidence-crm.md (c)):
//   select COL {, COL} from MODULE
//     [where COND] [order by COL [asc|desc] {, ...}]
//     [limit N [offset K] | limit K, N] [;]
//   COND := OPERAND [(and|or) OPERAND]      more than two criteria must be
//   OPERAND := ( COND ) | CRITERION         bracketed in pairs (C)
//   CRITERION := COL (=|!=|<>|>|>=|<|<=) VALUE | COL is [not] null
//              | COL [not] in (VALUE {, VALUE}) | COL between VALUE and VALUE
//              | COL [not] like VALUE        (% wildcards, case-insensitive)
// Keywords are case-insensitive; COL may be quoted or dotted (Owner.email).
// Datetimes compare as instants; literals need a numeric offset. ids compare
// as numbers. Limits (C): 50 columns, 25 criteria, 50 values in `in`, LIMIT
// <= coql_max_limit, LIMIT + OFFSET <= coql_max_reach. Default order: id asc.
#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <memory>

#include "common/json.hpp"
#include "common/timefmt.hpp"
#include "sandbox/sandbox.hpp"
#include "sandbox/util.hpp"

namespace peoplesync::sandbox {
namespace {

struct Tok {
  enum Kind { word, number, string, symbol, end } kind = end;
  std::string text;
};

struct Error {
  int status = 400;
  std::string code, message, details;
};

Error syntax(const std::string& clause, const std::string& near) {
  json::Writer w;
  w.begin_object().field("clause", clause).field("near", near).end_object();
  return {400, "SYNTAX_ERROR", "error occurred while parsing the query", w.str()};
}

Error invalid(const std::string& reason, const std::string& api_name) {
  json::Writer w;
  w.begin_object().field("reason", reason).field("api_name", api_name).end_object();
  return {400, "INVALID_QUERY", "invalid query formed", w.str()};
}

Error limit_exceeded(const std::string& what, int maximum) {
  return {400, "LIMIT_EXCEEDED", "limit exceeded",
          "{\"param\":" + json::quote(what) + ",\"maximum\":" + std::to_string(maximum) + "}"};
}

std::optional<std::vector<Tok>> tokenize(const std::string& q, Error& err) {
  std::vector<Tok> out;
  auto ident_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '$' || c == '.';
  };
  for (std::size_t i = 0; i < q.size();) {
    const char c = q[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
    } else if (c == '\'' || c == '"') {
      std::string s;
      std::size_t j = i + 1;
      for (; j < q.size(); ++j) {
        if (q[j] == c && j + 1 < q.size() && q[j + 1] == c) s.push_back(q[j++]);  // '' escapes '
        else if (q[j] == c) break;
        else s.push_back(q[j]);
      }
      if (j >= q.size()) {
        err = syntax("where", q.substr(i, 20));
        return std::nullopt;
      }
      out.push_back({Tok::string, s});
      i = j + 1;
    } else if ((c >= '0' && c <= '9') || (c == '-' && i + 1 < q.size() && q[i + 1] >= '0' && q[i + 1] <= '9')) {
      std::size_t j = i + 1;
      while (j < q.size() && ((q[j] >= '0' && q[j] <= '9') || q[j] == '.')) ++j;
      out.push_back({Tok::number, q.substr(i, j - i)});
      i = j;
    } else if (ident_char(c)) {
      std::size_t j = i;
      while (j < q.size() && ident_char(q[j])) ++j;
      out.push_back({Tok::word, q.substr(i, j - i)});
      i = j;
    } else {
      static const char* two[] = {"!=", "<>", ">=", "<="};
      std::string sym(1, c);
      for (const char* t : two)
        if (q.compare(i, 2, t) == 0) sym = t;
      if (std::string("()=<>,;*!").find(c) == std::string::npos) {
        err = syntax("select", std::string(1, c));
        return std::nullopt;
      }
      out.push_back({Tok::symbol, sym});
      i += sym.size();
    }
  }
  out.push_back({Tok::end, ""});
  return out;
}

struct Literal {
  std::string text;
  bool quoted = false;
};

struct Cond {
  enum Kind { cmp, is_null, not_null, in, not_in, between, like, not_like, both, either } kind = cmp;
  std::string field, op;
  std::vector<Literal> values;
  std::unique_ptr<Cond> left, right;
};

struct Query {
  std::vector<std::string> columns;
  std::string module;
  std::unique_ptr<Cond> where;
  std::vector<std::pair<std::string, bool>> order;  // field, descending
  int limit = 200, offset = 0, criteria = 0;
};

class Parser {
 public:
  Parser(std::vector<Tok> toks, Query& q) : t_(std::move(toks)), q_(q) {}

  std::optional<Error> run() {
    if (!kw("select")) return syntax("select", peek().text);
    do {
      std::string col;
      if (!ident(col)) return syntax("select", peek().text);
      q_.columns.push_back(col);
    } while (sym(","));
    if (!kw("from")) return syntax("from", peek().text);
    if (!ident(q_.module)) return syntax("from", peek().text);
    if (kw("where")) {
      clause_ = "where";
      if (auto e = expr(q_.where)) return e;
    }
    if (kw("order")) {
      if (!kw("by")) return syntax("order by", peek().text);
      do {
        std::string col;
        if (!ident(col)) return syntax("order by", peek().text);
        bool desc = false;
        if (kw("desc")) desc = true;
        else kw("asc");
        q_.order.emplace_back(col, desc);
      } while (sym(","));
    }
    if (kw("limit")) {
      if (auto e = limit_clause()) return e;
    }
    sym(";");
    if (peek().kind != Tok::end) return syntax(clause_, peek().text);
    return std::nullopt;
  }

 private:
  const Tok& peek() const { return t_[i_]; }
  bool kw(const char* word) {
    if (peek().kind != Tok::word || lower(peek().text) != word) return false;
    ++i_;
    return true;
  }
  bool is_kw(const char* word) const { return peek().kind == Tok::word && lower(peek().text) == word; }
  bool sym(const char* s) {
    if (peek().kind != Tok::symbol || peek().text != s) return false;
    ++i_;
    return true;
  }
  // A column: a word that is not a clause keyword, or a quoted name.
  bool ident(std::string& out) {
    static const std::set<std::string> reserved{"select", "from", "where", "order", "by", "limit", "offset",
                                                "and", "or", "asc", "desc"};
    if (peek().kind == Tok::string || (peek().kind == Tok::word && !reserved.count(lower(peek().text)))) {
      out = t_[i_++].text;
      return true;
    }
    return false;
  }
  bool value(Literal& out) {
    if (peek().kind == Tok::string || peek().kind == Tok::number || peek().kind == Tok::word) {
      out = {peek().text, peek().kind == Tok::string};
      ++i_;
      return true;
    }
    return false;
  }
  bool number(int& out) {
    if (peek().kind != Tok::number) return false;
    const std::string& s = t_[i_++].text;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && p == s.data() + s.size();
  }

  std::optional<Error> limit_clause() {
    int a = 0;
    if (!number(a)) return syntax("limit", peek().text);
    if (sym(",")) {  // limit K, N: offset first (C2: seen in real v2 clients)
      int b = 0;
      if (!number(b)) return syntax("limit", peek().text);
      q_.offset = a;
      q_.limit = b;
    } else {
      q_.limit = a;
      if (kw("offset") && !number(q_.offset)) return syntax("offset", peek().text);
    }
    if (q_.limit < 1 || q_.offset < 0) return syntax("limit", std::to_string(q_.limit));
    return std::nullopt;
  }

  std::optional<Error> expr(std::unique_ptr<Cond>& out) {
    std::unique_ptr<Cond> left;
    if (auto e = operand(left)) return e;
    if (!is_kw("and") && !is_kw("or")) {
      out = std::move(left);
      return std::nullopt;
    }
    auto node = std::make_unique<Cond>();
    node->kind = kw("and") ? Cond::both : Cond::either;
    if (node->kind == Cond::either) kw("or");
    node->left = std::move(left);
    if (auto e = operand(node->right)) return e;
    // C: more than two criteria must be bracketed in pairs: ((A and B) and C).
    if (is_kw("and") || is_kw("or")) return syntax("where", peek().text);
    out = std::move(node);
    return std::nullopt;
  }

  std::optional<Error> operand(std::unique_ptr<Cond>& out) {
    if (sym("(")) {
      if (auto e = expr(out)) return e;
      if (!sym(")")) return syntax("where", peek().text);
      return std::nullopt;
    }
    return criterion(out);
  }

  std::optional<Error> criterion(std::unique_ptr<Cond>& out) {
    auto c = std::make_unique<Cond>();
    if (!ident(c->field)) return syntax("where", peek().text);
    ++q_.criteria;
    Literal v;
    if (kw("is")) {
      c->kind = kw("not") ? Cond::not_null : Cond::is_null;
      if (!kw("null")) return syntax("where", peek().text);
    } else if (is_kw("not") || is_kw("in")) {
      const bool negated = kw("not");
      if (kw("like")) {
        c->kind = negated ? Cond::not_like : Cond::like;
        if (!value(v)) return syntax("where", peek().text);
        c->values.push_back(v);
      } else {
        if (!kw("in") || !sym("(")) return syntax("where", peek().text);
        c->kind = negated ? Cond::not_in : Cond::in;
        do {
          if (!value(v)) return syntax("where", peek().text);
          c->values.push_back(v);
        } while (sym(","));
        if (!sym(")")) return syntax("where", peek().text);
      }
    } else if (kw("between")) {
      c->kind = Cond::between;
      Literal hi;
      if (!value(v) || !kw("and") || !value(hi)) return syntax("where", peek().text);
      c->values = {v, hi};
    } else if (kw("like")) {
      c->kind = Cond::like;
      if (!value(v)) return syntax("where", peek().text);
      c->values.push_back(v);
    } else {
      static const std::set<std::string> ops{"=", "!=", "<>", ">", ">=", "<", "<="};
      if (peek().kind != Tok::symbol || !ops.count(peek().text)) return syntax("where", peek().text);
      c->op = t_[i_++].text;
      if (!value(v)) return syntax("where", peek().text);
      c->values.push_back(v);
    }
    out = std::move(c);
    return std::nullopt;
  }

  std::vector<Tok> t_;
  std::size_t i_ = 0;
  Query& q_;
  std::string clause_ = "from";
};

// ---------------------------------------------------------------- evaluation

// A field's value in one record, typed for comparison.
struct Val {
  enum Kind { null, str, num, boolean, instant, id } kind = null;
  std::string s;
  double n = 0;
  SysTime t{};
};

bool is_datetime_field(const std::string& field, const std::vector<Sandbox::CrmField>* defs) {
  if (field == "Created_Time" || field == "Modified_Time") return true;
  if (!defs) return false;
  return std::any_of(defs->begin(), defs->end(),
                     [&](const Sandbox::CrmField& f) { return f.api_name == field && f.data_type == "datetime"; });
}

Val value_of(const Sandbox::CrmRecord& rec, const std::string& field, bool datetime) {
  Val v;
  if (field == "id") return {Val::id, rec.id, 0, {}};
  if (field == "Created_Time") return {Val::instant, "", 0, rec.created};
  if (field == "Modified_Time") return {Val::instant, "", 0, rec.modified};
  const auto dot = field.find('.');
  auto it = rec.fields.find(field.substr(0, dot));
  if (it == rec.fields.end()) return v;
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  if (parser.parse(it->second).get(e) != simdjson::SUCCESS) return v;
  if (dot != std::string::npos && e[field.substr(dot + 1)].get(e) != simdjson::SUCCESS) return v;
  if (e.is_object() && e["id"].get(e) != simdjson::SUCCESS) return v;  // a lookup compares on its id
  std::string_view s;
  bool b = false;
  double n = 0;
  if (e.get_string().get(s) == simdjson::SUCCESS) {
    if (datetime)
      if (auto t = parse_iso8601(s)) return {Val::instant, "", 0, *t};
    return {Val::str, std::string(s), 0, {}};
  }
  if (e.get_bool().get(b) == simdjson::SUCCESS) return {Val::boolean, b ? "true" : "false", 0, {}};
  if (e.get_double().get(n) == simdjson::SUCCESS) return {Val::num, std::string(simdjson::minify(e)), n, {}};
  if (e.is_null()) return v;
  return {Val::str, std::string(simdjson::minify(e)), 0, {}};
}

int cmp_ids(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  return a.compare(b) < 0 ? -1 : a == b ? 0 : 1;
}

// The order of a record value against a literal; nullopt: no order (null).
std::optional<int> compare(const Val& v, const Literal& lit) {
  switch (v.kind) {
    case Val::null: return std::nullopt;
    case Val::id: return cmp_ids(v.s, lit.text);
    case Val::instant: {
      auto t = parse_iso8601(lit.text);
      if (!t) return std::nullopt;
      return v.t < *t ? -1 : v.t == *t ? 0 : 1;
    }
    case Val::num: {
      double d = 0;
      auto [p, ec] = std::from_chars(lit.text.data(), lit.text.data() + lit.text.size(), d);
      if (ec == std::errc{} && p == lit.text.data() + lit.text.size()) return v.n < d ? -1 : v.n == d ? 0 : 1;
      break;
    }
    default: break;
  }
  const std::string lt = v.kind == Val::boolean ? lower(lit.text) : lit.text;
  return v.s < lt ? -1 : v.s == lt ? 0 : 1;
}

bool like(const std::string& text, const std::string& pattern) {
  const std::string t = lower(text), p = lower(pattern);
  const bool head = !p.empty() && p.front() == '%', tail = p.size() > 1 && p.back() == '%';
  const std::string core = p.substr(head ? 1 : 0, p.size() - (head ? 1 : 0) - (tail ? 1 : 0));
  if (head && tail) return t.find(core) != std::string::npos;
  if (head) return t.size() >= core.size() && t.compare(t.size() - core.size(), core.size(), core) == 0;
  if (tail) return t.rfind(core, 0) == 0;
  return t == core;
}

bool matches(const Cond& c, const Sandbox::CrmRecord& rec, const std::vector<Sandbox::CrmField>* defs) {
  if (c.kind == Cond::both) return matches(*c.left, rec, defs) && matches(*c.right, rec, defs);
  if (c.kind == Cond::either) return matches(*c.left, rec, defs) || matches(*c.right, rec, defs);
  const Val v = value_of(rec, c.field, is_datetime_field(c.field, defs));
  auto order = [&](const Literal& l) { return compare(v, l); };
  switch (c.kind) {
    case Cond::is_null: return v.kind == Val::null;
    case Cond::not_null: return v.kind != Val::null;
    case Cond::in:
    case Cond::not_in: {
      const bool found = std::any_of(c.values.begin(), c.values.end(), [&](const Literal& l) { return order(l) == 0; });
      return v.kind != Val::null && (c.kind == Cond::in) == found;
    }
    case Cond::between: {
      const auto lo = order(c.values[0]), hi = order(c.values[1]);
      return lo && hi && *lo >= 0 && *hi <= 0;
    }
    case Cond::like:
    case Cond::not_like: return v.kind != Val::null && like(v.s, c.values[0].text) == (c.kind == Cond::like);
    default: break;
  }
  const auto o = order(c.values[0]);
  if (!o) return false;
  if (c.op == "=") return *o == 0;
  if (c.op == "!=" || c.op == "<>") return *o != 0;
  if (c.op == ">") return *o > 0;
  if (c.op == ">=") return *o >= 0;
  if (c.op == "<") return *o < 0;
  return *o <= 0;
}

// ---------------------------------------------------------------- checks

std::optional<Error> check_field(const std::string& field, const std::vector<Sandbox::CrmField>* defs) {
  const std::string base = field.substr(0, field.find('.'));
  if (!defs || base == "id" || base == "Created_Time" || base == "Modified_Time") return std::nullopt;
  if (std::any_of(defs->begin(), defs->end(), [&](const Sandbox::CrmField& f) { return f.api_name == base; }))
    return std::nullopt;
  return invalid("column given seems to be invalid", field);
}

// Datetime literals need a numeric offset ('Z' only when allowed); ids are digits.
std::optional<Error> check_cond(const Cond& c, const std::vector<Sandbox::CrmField>* defs, bool refuse_z, int& in_values) {
  if (c.left) {
    if (auto e = check_cond(*c.left, defs, refuse_z, in_values)) return e;
    return check_cond(*c.right, defs, refuse_z, in_values);
  }
  if (auto e = check_field(c.field, defs)) return e;
  if (c.kind == Cond::in || c.kind == Cond::not_in) in_values = std::max(in_values, static_cast<int>(c.values.size()));
  for (const auto& l : c.values) {
    if (is_datetime_field(c.field, defs) && c.kind != Cond::like && c.kind != Cond::not_like) {
      const bool z = !l.text.empty() && (l.text.back() == 'Z' || l.text.back() == 'z');
      if (!parse_iso8601(l.text) || l.text.size() < 19 || (z && refuse_z)) return invalid("invalid datetime value", c.field);
    }
    if (c.field == "id" && (l.text.empty() || !std::all_of(l.text.begin(), l.text.end(), [](char ch) { return ch >= '0' && ch <= '9'; })))
      return invalid("invalid id value", c.field);
  }
  return std::nullopt;
}

std::string column_json(const Sandbox::CrmRecord& rec, const std::string& col, bool id_only) {
  if (col == "Created_Time") return json::quote(format_utc_iso_offset(rec.created));
  if (col == "Modified_Time") return json::quote(format_utc_iso_offset(rec.modified));
  const auto dot = col.find('.');
  auto it = rec.fields.find(col.substr(0, dot));
  if (it == rec.fields.end()) return "null";
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  if (parser.parse(it->second).get(e) != simdjson::SUCCESS) return "null";
  if (dot != std::string::npos) {
    if (e[col.substr(dot + 1)].get(e) != simdjson::SUCCESS) return "null";
    return std::string(simdjson::minify(e));
  }
  std::string_view id;
  if (id_only && e.is_object() && e["id"].get_string().get(id) == simdjson::SUCCESS)
    return "{\"id\":" + json::quote(id) + "}";
  return it->second;
}

net::HttpReply error_reply(const Error& e) { return json_reply(e.status, crm_error_body(e.code, e.message, e.details)); }

}  // namespace

net::HttpReply Sandbox::crm_coql(const net::HttpRequest& r) {
  auto& st = stats_["crm/coql"];
  ++st.calls;
  auto fail = [&](const Error& e) {
    ++st.errors[e.code];
    return error_reply(e);
  };
  simdjson::dom::parser parser;
  std::string_view text;
  if (parser.parse(r.body).get_object()["select_query"].get_string().get(text) != simdjson::SUCCESS)
    return fail({400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", R"({"param":"select_query"})"});
  Error err;
  auto toks = tokenize(std::string(text), err);
  if (!toks) return fail(err);
  Query q;
  if (auto e = Parser(std::move(*toks), q).run()) return fail(*e);
  // C: credits by LIMIT (1-200: 1, 201-1000: 2, 1001-2000: 3).
  if (!take_credits(q.limit <= 200 ? 1 : q.limit <= 1000 ? 2 : 3)) {
    ++st.errors["TOO_MANY_REQUESTS"];
    return json_reply(429, crm_error_body("TOO_MANY_REQUESTS", "API credits exhausted for the day"));
  }
  if (q.columns.size() > 50) return fail(limit_exceeded("select", 50));
  if (q.criteria > 25) return fail(limit_exceeded("where", 25));
  if (q.limit > b_.coql_max_limit) return fail(limit_exceeded("limit", b_.coql_max_limit));
  if (static_cast<std::int64_t>(q.limit) + q.offset > b_.coql_max_reach) return fail(limit_exceeded("offset", b_.coql_max_reach - q.limit));
  if (!module_known(q.module)) return fail(invalid("the module name given seems to be invalid", q.module));
  const std::string m = "ZohoCRM.modules." + lower(q.module) + ".";
  if (!has_scope(r, {"ZohoCRM.modules.ALL", "ZohoCRM.modules.READ", m + "ALL", m + "READ"}))
    return scope_mismatch(r, "crm", true);
  const auto* defs = fields_of(q.module);
  for (const auto& col : q.columns)
    if (auto e = check_field(col, defs)) return fail(*e);
  for (const auto& [col, desc] : q.order)
    if (auto e = check_field(col, defs)) return fail(*e);
  int in_values = 0;
  if (q.where)
    if (auto e = check_cond(*q.where, defs, b_.crm_ims_refuse_z, in_values)) return fail(*e);
  if (in_values > 50) return fail(limit_exceeded("in", 50));

  std::vector<const CrmRecord*> hits;
  for (const auto& rec : modules_[q.module])
    if (!q.where || matches(*q.where, rec, defs)) hits.push_back(&rec);
  std::stable_sort(hits.begin(), hits.end(), [&](const CrmRecord* a, const CrmRecord* b) {
    for (const auto& [col, desc] : q.order) {
      const bool dt = is_datetime_field(col, defs);
      const Val va = value_of(*a, col, dt), vb = value_of(*b, col, dt);
      int o = 0;
      if (va.kind != vb.kind) o = va.kind < vb.kind ? -1 : 1;  // nulls first
      else if (va.kind == Val::instant) o = va.t < vb.t ? -1 : va.t == vb.t ? 0 : 1;
      else if (va.kind == Val::num) o = va.n < vb.n ? -1 : va.n == vb.n ? 0 : 1;
      else if (va.kind == Val::id) o = cmp_ids(va.s, vb.s);
      else o = va.s < vb.s ? -1 : va.s == vb.s ? 0 : 1;
      if (o != 0) return desc ? o > 0 : o < 0;
    }
    return cmp_ids(a->id, b->id) < 0;
  });
  const std::size_t from = static_cast<std::size_t>(q.offset);
  if (from >= hits.size()) return json_reply(204, "");  // C2: 204 when nothing matches
  const std::size_t to = std::min(hits.size(), from + static_cast<std::size_t>(q.limit));
  std::string body = R"({"data":[)";
  for (std::size_t i = from; i < to; ++i) {
    body += i > from ? ",{" : "{";
    bool id_selected = false;
    for (const auto& col : q.columns) {
      if (col == "id") id_selected = true;
      body += json::quote(col) + ":" + (col == "id" ? json::quote(hits[i]->id) : column_json(*hits[i], col, b_.coql_lookup_id_only)) + ",";
    }
    if (!id_selected) body += "\"id\":" + json::quote(hits[i]->id) + ",";
    body.back() = '}';
  }
  body += R"(],"info":{"count":)" + std::to_string(to - from) + R"(,"more_records":)" +
          (to < hits.size() ? "true" : "false") + "}}";
  return json_reply(200, body);
}

}  // namespace peoplesync::sandbox
