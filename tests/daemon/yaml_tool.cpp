// A small YAML query tool on yaml-cpp (the parser the project already uses),
// for scripts/check-container.sh where Python's yaml module is not installed.
//   yaml_tool check FILE               parse every document; print how many
//   yaml_tool get FILE DOC PATH        print one value
// DOC is a document index (0-based) or KEY=VALUE matching a top-level scalar
// (e.g. kind=Deployment). PATH is dotted keys with [N] or [KEY=VALUE]
// selectors, and "\." for a dot inside a key:
//   spec.template.spec.containers[name=peoplesync].livenessProbe.httpGet.path
//   data.config\.yaml
// Scalars print as written; maps and sequences print as YAML.
// Exit codes: 0 found, 1 parse error, 2 usage, 3 not found.
#include <yaml-cpp/yaml.h>

#include <iostream>
#include <string>
#include <vector>

namespace {

struct Step {
  std::string key;                   // may be empty (a leading selector)
  std::vector<std::string> selectors;  // "3" or "name=peoplesync"
};

std::vector<Step> parse_path(const std::string& path) {
  std::vector<Step> steps;
  Step cur;
  std::string token;
  int depth = 0;
  auto flush_key = [&] {
    if (!token.empty()) cur.key = token;
    token.clear();
  };
  bool escaped = false;
  for (char c : path) {
    if (escaped) {
      token += c;
      escaped = false;
      continue;
    }
    if (depth == 0 && c == '\\') {
      escaped = true;
      continue;
    }
    if (depth == 0 && c == '.') {
      flush_key();
      steps.push_back(cur);
      cur = Step{};
    } else if (c == '[') {
      if (depth++ == 0) {
        flush_key();
        continue;
      }
      token += c;
    } else if (c == ']' && depth > 0) {
      if (--depth == 0) {
        cur.selectors.push_back(token);
        token.clear();
        continue;
      }
      token += c;
    } else {
      token += c;
    }
  }
  flush_key();
  steps.push_back(cur);
  return steps;
}

bool all_digits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

YAML::Node select(const YAML::Node& node, const std::string& selector) {
  if (!node.IsSequence()) return YAML::Node(YAML::NodeType::Undefined);
  if (all_digits(selector)) {
    const std::size_t i = std::stoul(selector);
    return i < node.size() ? node[i] : YAML::Node(YAML::NodeType::Undefined);
  }
  const auto eq = selector.find('=');
  if (eq == std::string::npos) return YAML::Node(YAML::NodeType::Undefined);
  const std::string k = selector.substr(0, eq), v = selector.substr(eq + 1);
  for (const auto& item : node) {
    if (item.IsMap() && item[k] && item[k].IsScalar() && item[k].Scalar() == v) return item;
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

// Note: YAML::Node's operator= assigns through to the referenced node;
// reset() is what rebinds a handle, so walking uses reset() only.
YAML::Node walk(const YAML::Node& root, const std::string& path) {
  YAML::Node node;
  node.reset(root);
  if (path.empty()) return node;
  for (const Step& s : parse_path(path)) {
    if (!s.key.empty()) {
      const YAML::Node& here = node;
      if (!here.IsMap() || !here[s.key]) return YAML::Node(YAML::NodeType::Undefined);
      node.reset(here[s.key]);
    }
    for (const auto& sel : s.selectors) {
      node.reset(select(node, sel));
      if (!node.IsDefined()) return node;
    }
  }
  return node;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> a(argv + 1, argv + argc);
  if (a.size() < 2 || (a[0] == "get" && a.size() != 4) || (a[0] != "get" && a[0] != "check")) {
    std::cerr << "usage: yaml_tool check FILE | yaml_tool get FILE DOC PATH\n";
    return 2;
  }
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAllFromFile(a[1]);
  } catch (const YAML::Exception& e) {
    std::cerr << a[1] << ":" << e.mark.line + 1 << ":" << e.mark.column + 1 << ": " << e.msg << "\n";
    return 1;
  }
  if (a[0] == "check") {
    std::cout << docs.size() << " document" << (docs.size() == 1 ? "" : "s") << "\n";
    return 0;
  }
  YAML::Node doc(YAML::NodeType::Undefined);
  if (all_digits(a[2])) {
    const std::size_t i = std::stoul(a[2]);
    if (i < docs.size()) doc.reset(docs[i]);
  } else {
    const auto eq = a[2].find('=');
    for (const auto& d : docs) {
      if (eq == std::string::npos) break;
      const YAML::Node v = walk(d, a[2].substr(0, eq));
      if (v.IsDefined() && v.IsScalar() && v.Scalar() == a[2].substr(eq + 1)) {
        doc.reset(d);
        break;
      }
    }
  }
  if (!doc.IsDefined()) {
    std::cerr << "no document " << a[2] << " in " << a[1] << "\n";
    return 3;
  }
  const YAML::Node v = walk(doc, a[3]);
  if (!v.IsDefined() || v.IsNull()) {
    std::cerr << a[3] << ": not found\n";
    return 3;
  }
  if (v.IsScalar()) std::cout << v.Scalar();
  else std::cout << YAML::Dump(v);
  if (v.IsScalar() && (v.Scalar().empty() || v.Scalar().back() != '\n')) std::cout << "\n";
  return 0;
}
