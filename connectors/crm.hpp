#pragma once
// Typed client of the Zoho CRM v2 records API (shared/api/crm-v2-get-records.txt
// and BEHAVIOUR.md "CRM"): the modified-since reader that walks a module of
// any size past the 2000-record paging cap by advancing its watermark (tie-safe
// at equal Modified_Time), the deleted-records reader and the batch updater.
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <optional>
#include <set>
#include <variant>
#include <string>
#include <vector>

#include "common/value.hpp"
#include "connectors/people.hpp"

namespace peoplesync::connectors {

struct CrmRecord {
  std::string id;
  std::string modified_time;  // as CRM wrote it
  Value fields;               // the whole record object
};

struct CrmQuery {
  std::string module;
  std::vector<std::string> fields;
  std::optional<std::string> if_modified_since;  // header value
  int page = 1;
  int per_page = 200;
  std::string page_token;  // used instead of page when set
};

struct CrmPage {
  enum class Status { records, not_modified /*304*/, no_content /*204*/ };
  Status status = Status::records;
  std::vector<CrmRecord> records;
  bool more = false;
  std::string next_page_token;
};

struct CrmDeleted {
  std::string id, display_name, type, deleted_time;
};

struct CrmUpdate {
  std::string id;
  std::vector<std::pair<std::string, Value>> fields;  // typed: see crm_typed_value
};

// One field of a module, from GET /crm/v2/settings/fields?module=X.
struct CrmField {
  std::string api_name, label, data_type, json_type;
  bool read_only = false;
};

struct CrmUpdateResult {
  std::string id;
  Outcome outcome = Outcome::ok;
  std::string code;     // "SUCCESS", "INVALID_DATA", ...
  std::string message;
  std::string modified_time;
};

// Where a walk is: the newest Modified_Time handed over, and the ids handed
// over at exactly that time. This is what the sync layer checkpoints.
//  - ids_at_time empty: every record up to `time` is done (a walk ended
//    there), so the next read asks If-Modified-Since = time exactly, which
//    answers 304 when nothing changed.
//  - ids_at_time not empty: the walk stopped inside `time` (a page boundary,
//    the paging cap, a crash); more records may share it, so the next read
//    asks from one second earlier and skips the ids already handed over.
//    This is correct whether the server compares with > or >=.
struct CrmWatermark {
  std::string time;  // empty: from the beginning
  std::set<std::string> ids_at_time;
};

struct CrmWalkStats {
  int calls = 0;
  int records = 0;
  bool not_modified = false;  // the first call answered 304
  CrmWatermark reached;       // complete (ids empty) when the walk ended normally
};

// Receives each batch of new records in ascending Modified_Time order, and
// the watermark reached once the batch is processed. Return false to stop.
using CrmBatchSink =
    std::function<boost::asio::awaitable<bool>(const std::vector<CrmRecord>&, const CrmWatermark& reached)>;

class CrmClient {
 public:
  CrmClient(ZohoApi& api, std::string crm_url);

  boost::asio::awaitable<Expected<CrmPage>> get_page(const CrmQuery& q);
  boost::asio::awaitable<Expected<CrmWalkStats>> read_modified(const std::string& module,
                                                               const std::vector<std::string>& fields,
                                                               const CrmWatermark& from, CrmBatchSink sink);
  boost::asio::awaitable<Expected<Page<CrmDeleted>>> get_deleted(const std::string& module,
                                                                 const std::optional<std::string>& since, int page);
  // The module's fields and their types (settings/fields; scope
  // ZohoCRM.settings.fields.READ).
  boost::asio::awaitable<Expected<std::vector<CrmField>>> get_fields(const std::string& module);
  // <= 100 records per call; results in request order.
  boost::asio::awaitable<Expected<std::vector<CrmUpdateResult>>> update(const std::string& module,
                                                                        const std::vector<CrmUpdate>& records);

  // A PUT with no records, refused for its input: whether the token may
  // update `module`, without writing (check --online).
  boost::asio::awaitable<Expected<bool>> probe_update(const std::string& module);
  // One COQL page of the ids stamped `time` after `after_id`, ascending
  // (POST /crm/v2/coql; scope ZohoCRM.coql.READ).
  boost::asio::awaitable<Expected<std::vector<std::string>>> coql_ids(const std::string& module, const std::string& time,
                                                                      const std::string& after_id);
  // The records with these ids (GET ?ids=, at most kMaxIds).
  boost::asio::awaitable<Expected<CrmPage>> get_by_ids(const std::string& module, const std::vector<std::string>& fields,
                                                       const std::vector<std::string>& ids);

  static constexpr int kPerPage = 200;
  static constexpr int kCoqlLimit = 200;      // rows per COQL query (v2)
  static constexpr std::size_t kMaxIds = 100;  // ids per GET ?ids=
  static constexpr int kPageCap = 2000;  // records reachable with `page`
  static constexpr std::size_t kMaxUpdate = 100;

 private:
  // Hands over every record stamped at.time that `at` has not handed over,
  // in id order (COQL ids, then GET ?ids=): how a walk gets past a second
  // crowded beyond the paging cap. false: the sink asked to stop.
  boost::asio::awaitable<Expected<bool>> walk_second(const std::string& module, const std::vector<std::string>& fields,
                                                     CrmWatermark& at, CrmBatchSink& sink, CrmWalkStats& stats);

  ZohoApi& api_;
  std::string crm_url_;
};

// A template's text as the JSON value a field of this type takes (C2: CRM
// refuses a numeric string for a number field with INVALID_DATA): integer,
// bigint -> integer; double, currency, decimal, percent -> number; boolean ->
// true/false (from true/false/yes/no/1/0); date -> "yyyy-MM-dd"; datetime ->
// "yyyy-MM-ddTHH:mm:ss+00:00"; text-like types -> string. A value the field
// cannot hold, a read-only field, or a lookup-like type is an error naming
// the field, the value and the type.
std::variant<Value, std::string> crm_typed_value(const CrmField& field, const std::string& text);

// If-Modified-Since as CRM documents it: an ISO time with a numeric offset
// ("2024-05-01T10:00:00+00:00"), never a bare 'Z' (C). Text that is not an
// ISO time is passed through.
std::string crm_if_modified_since(const std::string& iso_time);

// Parsers, exposed for tests and fuzzing.
Expected<CrmPage> parse_records_page(int http_status, std::string_view body, const std::string& endpoint);
Value value_from_json(std::string_view json);  // null Value on malformed input

}  // namespace peoplesync::connectors
