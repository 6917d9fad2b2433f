#pragma once
// The People -> CRM direction's record and value shapes, shared by the
// engine's write-back stream and the preflight (which tries a write-back
// mapping on a real job before anything is written).
#include <optional>
#include <string>
#include <vector>

#include "common/value.hpp"
#include "connectors/crm.hpp"
#include "connectors/people.hpp"
#include "sync/mapper.hpp"

namespace peoplesync::sync {

// A People job as the record a write-back template reads ({totalhours},
// {jobStatus}, ...).
Value job_record(const connectors::PeopleJob& j);

// The mapped values as the module's field types want them (numbers as JSON
// numbers, booleans, CRM dates), appended to `u`; or why one of them cannot
// be written (an unknown or read-only field, a value the type cannot hold),
// naming the field, the value and the type.
std::optional<std::string> typed_update(const std::string& module, const std::vector<connectors::CrmField>& fields,
                                        const Mapped& m, connectors::CrmUpdate& u);

}  // namespace peoplesync::sync
