#pragma once
// Structured logging: text or JSON lines with ts, level, msg, component and,
// where known, stream and endpoint. Every line passes through redact() in the
// one sink installed by init(); nothing else writes log output.
#include <fmt/core.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spdlog::sinks {
class sink;
}

namespace peoplesync::log {

enum class Format { text, json };
enum class Level { trace, debug, info, warn, error, critical, off };
enum class Target { stderr_stream, stdout_stream };

std::optional<Level> parse_level(std::string_view name);
std::optional<Format> parse_format(std::string_view name);
std::string_view level_name(Level level);

// Installs the process's log sink (redacting, then writing to the target).
void init(Format format, Level level, Target target = Target::stderr_stream);
// Same, writing to a caller-provided spdlog sink (tests capture output this way).
void init_with_sink(std::shared_ptr<spdlog::sinks::sink> sink, Format format, Level level);
void set_level(Level level);
void set_format(Format format);
bool enabled(Level level);
void flush();

using Field = std::pair<std::string, std::string>;

class Logger {
 public:
  explicit Logger(std::string component, std::vector<Field> fields = {});

  // A logger with one more context field (e.g. with("stream", "deals")).
  Logger with(std::string key, std::string value) const;

  template <class... Args>
  void trace(fmt::format_string<Args...> f, Args&&... args) const {
    log(Level::trace, f, std::forward<Args>(args)...);
  }
  template <class... Args>
  void debug(fmt::format_string<Args...> f, Args&&... args) const {
    log(Level::debug, f, std::forward<Args>(args)...);
  }
  template <class... Args>
  void info(fmt::format_string<Args...> f, Args&&... args) const {
    log(Level::info, f, std::forward<Args>(args)...);
  }
  template <class... Args>
  void warn(fmt::format_string<Args...> f, Args&&... args) const {
    log(Level::warn, f, std::forward<Args>(args)...);
  }
  template <class... Args>
  void error(fmt::format_string<Args...> f, Args&&... args) const {
    log(Level::error, f, std::forward<Args>(args)...);
  }
  template <class... Args>
  void critical(fmt::format_string<Args...> f, Args&&... args) const {
    log(Level::critical, f, std::forward<Args>(args)...);
  }

  template <class... Args>
  void log(Level level, fmt::format_string<Args...> f, Args&&... args) const {
    if (!enabled(level)) return;
    write(level, fmt::format(f, std::forward<Args>(args)...));
  }

  void write(Level level, std::string_view message) const;

 private:
  std::string component_;
  std::vector<Field> fields_;
};

// Formats one line exactly as the sink would receive it (before redaction).
std::string format_line(Format format, Level level, std::string_view component,
                        const std::vector<Field>& fields, std::string_view message,
                        std::string_view timestamp);

}  // namespace peoplesync::log
