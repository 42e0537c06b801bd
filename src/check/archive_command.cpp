#include "check/archive_command.h"

namespace pgdr::check {

std::vector<std::string> shell_words(std::string_view command) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (std::size_t i = 0; i < command.size(); ++i) {
    const char c = command[i];
    if (c == '\'') {
      in_word = true;
      const std::size_t end = command.find('\'', i + 1);
      word += command.substr(i + 1, (end == std::string_view::npos ? command.size() : end) - i - 1);
      i = end == std::string_view::npos ? command.size() : end;
    } else if (c == '"') {
      in_word = true;
      for (++i; i < command.size() && command[i] != '"'; ++i) {
        // Inside double quotes a backslash escapes only these (POSIX 2.2.3).
        if (command[i] == '\\' && i + 1 < command.size() && std::string_view("$`\"\\\n").find(command[i + 1]) != std::string_view::npos)
          ++i;
        word += command[i];
      }
    } else if (c == '\\' && i + 1 < command.size()) {
      in_word = true;
      word += command[++i];
    } else if (c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '&' || c == '|') {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
    } else {
      in_word = true;
      word += c;
    }
  }
  if (in_word) words.push_back(word);
  return words;
}

ArchiveCommand parse_archive_command(std::string_view command) {
  ArchiveCommand out;
  const std::vector<std::string> words = shell_words(command);
  std::size_t i = 0;
  for (; i < words.size() && !out.pgdr; ++i) {
    const std::string& w = words[i];
    const std::size_t slash = w.rfind('/');
    if ((slash == std::string::npos ? w : w.substr(slash + 1)) == "pgdr") out.pgdr = w;
  }
  if (!out.pgdr) return out;
  for (; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w == "--config" && i + 1 < words.size())
      out.config = words[++i];
    else if (w.starts_with("--config="))
      out.config = w.substr(9);
    else if (w == "archive-push")
      out.archive_push = true;
  }
  return out;
}

}  // namespace pgdr::check
