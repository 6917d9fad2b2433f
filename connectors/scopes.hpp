#pragma once
// The OAuth scope every Zoho call needs, in one table (BEHAVIOUR.md "scopes
// per endpoint"). The clients put the scope on each Request, so that a
// refusal names it; `peoplesync auth --scopes`, `check --online` and the
// README's "Getting a refresh token" all read the same table.
//
// People: the time tracker has its own scope, the forms API (jobs through
// P_TimesheetJob, employee records through P_EmployeeView) another; the
// time-tracker scope does not cover forms (C). CRM: one scope per module and
// operation (ZohoCRM.modules.deals.READ), field metadata and COQL their own.
#include <string>
#include <string_view>
#include <vector>

namespace peoplesync::config {
struct Config;
}

namespace peoplesync::connectors::scopes {

inline constexpr std::string_view kTimetrackerRead = "ZOHOPEOPLE.timetracker.READ";
inline constexpr std::string_view kTimetrackerAll = "ZOHOPEOPLE.timetracker.ALL";
inline constexpr std::string_view kFormsCreate = "ZOHOPEOPLE.forms.CREATE";
inline constexpr std::string_view kFormsUpdate = "ZOHOPEOPLE.forms.UPDATE";
inline constexpr std::string_view kFormsRead = "ZOHOPEOPLE.forms.READ";
inline constexpr std::string_view kCrmFields = "ZohoCRM.settings.fields.READ";
inline constexpr std::string_view kCrmCoql = "ZohoCRM.coql.READ";

// People endpoints by their catalogue name ("getjobs", "insertRecord",
// "records", ...): the scope that admits them; empty for an unknown name.
std::string_view people(std::string_view endpoint);
// CRM records of `module`: "ZohoCRM.modules.deals.READ" / ".UPDATE"; custom
// modules share "ZohoCRM.modules.custom.*".
std::string crm_module(std::string_view module, bool write);

// One scope a config needs and why.
struct Need {
  std::string scope;
  std::string why;  // "stream deals writes jobs (forms insertRecord)"
};
// Every scope `cfg` needs, each once, in a stable order (People first).
std::vector<Need> needed(const config::Config& cfg);
// "A,B,C": the form the Zoho API console's Self Client takes.
std::string joined(const std::vector<Need>& needs);

}  // namespace peoplesync::connectors::scopes
