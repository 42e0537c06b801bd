// "did you mean ...?" for a mistyped command or option: the closest known word by edit distance,
// when it is close enough to be a typo rather than another word. Pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace pgdr::cli {

// Levenshtein distance (insertions, deletions, substitutions; an adjacent swap counts as one).
std::size_t edit_distance(const std::string& a, const std::string& b);

// The candidate nearest to word when at most a third of its length (at least 1, at most 3) edits
// away; ties go to the first candidate. nullopt when none is that near.
std::optional<std::string> closest(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace pgdr::cli
