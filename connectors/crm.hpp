#pragma once
// Typed client of the Zoho CRM v2 records API (shared/api/crm-v2-get-records.txt
// and BEHAVIOUR.md "CRM"): the modified-since reader that walks a module of
// any size past the 2000-record paging cap by advancing its watermark (tie-safe
// at equal Modified_Time), the deleted-records reader and the batch updater.
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <optional>
#include <set>
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
  std::vector<std::pair<std::string, std::string>> fields;
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
  // <= 100 records per call; results in request order.
  boost::asio::awaitable<Expected<std::vector<CrmUpdateResult>>> update(const std::string& module,
                                                                        const std::vector<CrmUpdate>& records);

  static constexpr int kPerPage = 200;
  static constexpr int kPageCap = 2000;  // records reachable with `page`
  static constexpr std::size_t kMaxUpdate = 100;

 private:
  ZohoApi& api_;
  std::string crm_url_;
};

// Parsers, exposed for tests and fuzzing.
Expected<CrmPage> parse_records_page(int http_status, std::string_view body, const std::string& endpoint);
Value value_from_json(std::string_view json);  // null Value on malformed input

}  // namespace peoplesync::connectors
