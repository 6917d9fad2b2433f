#include "common/log.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <mutex>

#include "common/clock.hpp"
#include "common/json.hpp"
#include "common/redact.hpp"
#include "common/timefmt.hpp"

namespace peoplesync::log {
namespace {

constexpr const char* kLoggerName = "peoplesync";

std::atomic<Format> g_format{Format::text};
std::atomic<bool> g_initialised{false};
std::atomic<Level> g_level{Level::info};

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::trace: return spdlog::level::trace;
    case Level::debug: return spdlog::level::debug;
    case Level::info: return spdlog::level::info;
    case Level::warn: return spdlog::level::warn;
    case Level::error: return spdlog::level::err;
    case Level::critical: return spdlog::level::critical;
    case Level::off: return spdlog::level::off;
  }
  return spdlog::level::info;
}

// Scrubs each message before handing it to the real sink. Installed as the
// only sink of the only logger (also spdlog's default logger, so a stray
// spdlog::info() anywhere is redacted as well).
class RedactingSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit RedactingSink(std::shared_ptr<spdlog::sinks::sink> inner) : inner_(std::move(inner)) {
    inner_->set_pattern("%v");
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const std::string clean =
        redact(std::string_view(msg.payload.data(), msg.payload.size()));
    spdlog::details::log_msg copy(msg.time, msg.source, msg.logger_name, msg.level,
                                  spdlog::string_view_t(clean.data(), clean.size()));
    inner_->log(copy);
  }
  void flush_() override { inner_->flush(); }

 private:
  std::shared_ptr<spdlog::sinks::sink> inner_;
};

bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v)
    if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20) return true;
  return false;
}

}  // namespace

std::optional<Level> parse_level(std::string_view name) {
  if (name == "trace") return Level::trace;
  if (name == "debug") return Level::debug;
  if (name == "info") return Level::info;
  if (name == "warn" || name == "warning") return Level::warn;
  if (name == "error") return Level::error;
  if (name == "critical") return Level::critical;
  if (name == "off") return Level::off;
  return std::nullopt;
}

std::optional<Format> parse_format(std::string_view name) {
  if (name == "text") return Format::text;
  if (name == "json") return Format::json;
  return std::nullopt;
}

std::string_view level_name(Level level) {
  switch (level) {
    case Level::trace: return "trace";
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
    case Level::critical: return "critical";
    case Level::off: return "off";
  }
  return "info";
}

void init_with_sink(std::shared_ptr<spdlog::sinks::sink> sink, Format format, Level level) {
  auto redacting = std::make_shared<RedactingSink>(std::move(sink));
  auto logger = std::make_shared<spdlog::logger>(kLoggerName, std::move(redacting));
  logger->set_pattern("%v");
  logger->flush_on(spdlog::level::warn);
  spdlog::drop(kLoggerName);
  spdlog::set_default_logger(logger);
  g_initialised = true;
  g_format = format;
  set_level(level);
}

void init(Format format, Level level, Target target) {
  std::shared_ptr<spdlog::sinks::sink> sink;
  if (target == Target::stdout_stream) {
    sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  } else {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  }
  init_with_sink(std::move(sink), format, level);
}

void set_level(Level level) {
  g_level = level;
  spdlog::default_logger_raw()->set_level(to_spdlog(level));
}

void set_format(Format format) { g_format = format; }

bool enabled(Level level) { return level != Level::off && level >= g_level.load(); }

void flush() { spdlog::default_logger_raw()->flush(); }

std::string format_line(Format format, Level level, std::string_view component,
                        const std::vector<Field>& fields, std::string_view message,
                        std::string_view timestamp) {
  std::string line;
  line.reserve(64 + message.size());
  if (format == Format::json) {
    line += "{\"ts\":";
    json::append_string(line, timestamp);
    line += ",\"level\":";
    json::append_string(line, level_name(level));
    line += ",\"msg\":";
    json::append_string(line, message);
    line += ",\"component\":";
    json::append_string(line, component);
    for (const auto& [key, value] : fields) {
      line.push_back(',');
      json::append_string(line, key);
      line.push_back(':');
      json::append_string(line, value);
    }
    line.push_back('}');
    return line;
  }
  line += timestamp;
  line += ' ';
  line += fmt::format("{:<5}", level_name(level));
  line += " [";
  line += component;
  line += "] ";
  line += message;
  for (const auto& [key, value] : fields) {
    line += ' ';
    line += key;
    line += '=';
    if (needs_quotes(value)) {
      json::append_string(line, value);
    } else {
      line += value;
    }
  }
  return line;
}

Logger::Logger(std::string component, std::vector<Field> fields)
    : component_(std::move(component)), fields_(std::move(fields)) {}

Logger Logger::with(std::string key, std::string value) const {
  Logger copy = *this;
  copy.fields_.emplace_back(std::move(key), std::move(value));
  return copy;
}

void Logger::write(Level level, std::string_view message) const {
  if (!enabled(level)) return;
  // A line logged before init() still goes through the redacting sink.
  if (!g_initialised.load()) init(g_format.load(), g_level.load(), Target::stderr_stream);
  // Log timestamps are the one place that reads the real clock directly: they
  // describe when the line was written, not anything the logic decides on.
  const std::string ts = format_utc_iso(std::chrono::system_clock::now());
  const std::string line = format_line(g_format.load(), level, component_, fields_, message, ts);
  spdlog::default_logger_raw()->log(to_spdlog(level), "{}", line);
}

}  // namespace peoplesync::log
