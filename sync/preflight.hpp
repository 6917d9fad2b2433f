#pragma once
// The read-only preflight (PRODUCT.md `check --online`): before anything is
// written, prove against the real org that
//  - the token has every scope the config needs: one read per endpoint, and
//    for a write endpoint a probe that cannot write (an insert with an empty
//    payload, an update of no records), which a token with the scope gets
//    refused as invalid input and one without it as out of scope;
//  - people.date_format is the org's company date format: gettimelogs is
//    asked without dateFormat, with dates in it (People refuses another
//    format with 9004), and the dates People returns must parse in it; this
//    works in an org that holds no jobs yet;
//  - every CRM field a template, filter or status names exists in its
//    module, and every write-back target field exists, is writable and gets
//    a value of its type (tried on one real People job when there is one).
// `peoplesync check --online` prints it; the daemon runs it at start and
// after a reload and writes nothing while a check fails.
#include <boost/asio/awaitable.hpp>

#include <string>
#include <vector>

#include "common/clock.hpp"
#include "config/config.hpp"

namespace peoplesync::connectors {
class CrmClient;
class PeopleClient;
class TokenProvider;
}  // namespace peoplesync::connectors

namespace peoplesync::sync {

struct Check {
  enum class Status { ok, failed, skipped };
  // What a failure means for the exit code: 77 (authorisation), 78 (config),
  // 75 (could not tell now: network, vendor trouble).
  enum class Kind { auth, config, temporary };
  std::string name;    // "scope ZOHOPEOPLE.forms.CREATE", "people.date_format", "crm Deals fields"
  Status status = Status::ok;
  Kind kind = Kind::temporary;
  std::string detail;  // what was seen
  std::string fix;     // what to do (failures)
};

struct PreflightReport {
  std::vector<Check> checks;
  bool ok() const;
  // The first failed check, for /status and logs (nullptr when all passed).
  const Check* first_failure() const;
  // auth over config over temporary, when something failed.
  Check::Kind worst() const;
};

boost::asio::awaitable<PreflightReport> preflight(const config::Config& cfg, connectors::TokenProvider& tokens,
                                                  connectors::CrmClient& crm, connectors::PeopleClient& people,
                                                  const Clock& clock);

// One line per check: "ok      scope ZOHOPEOPLE.forms.CREATE: ..." and, for a
// failure, an indented "fix: ..." line.
std::string format_report(const PreflightReport& r);

}  // namespace peoplesync::sync
