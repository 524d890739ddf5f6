// A Python tokenizer for static analysis: every token the analyzer's rules look at, with its
// line and column, and nothing that merely looks like code inside strings and comments.
//
// It follows Python 3.12's lexical rules (PEP 701 f-strings included, which accept every
// older f-string too): string prefixes r/b/u/f/t in any case and combination, single and
// triple quotes, backslash and implicit (bracket) line joining, comments. INDENT/DEDENT are
// not produced; a statement's indentation is its first token's column.
//
//   TokenStream ts = Tokenize("x = f'{eval(y)}'\n");
//   // ts.tokens: NAME x, OP =, STRING f'...' (its `fields` hold NAME eval, OP (, ...), NEWLINE
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hive::analyze {

enum class TokenKind {
  kName,
  kNumber,
  kString,
  kOp,
  kNewline,  // end of a logical line (also ends each f-string replacement field)
  kEnd,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string_view text;  // exact source text, a view into the tokenized source
  int line = 0;           // 1-based
  int col = 0;            // 1-based, in characters
  // Strings only.
  std::string value;  // literal contents: escapes decoded unless raw, f-string fields left out
  bool raw = false;
  bool bytes = false;
  bool fstring = false;       // f- or t-string
  std::vector<Token> fields;  // tokens of the replacement fields, each ended by kNewline
};

struct TokenStream {
  std::vector<Token> tokens;        // always ends with kNewline (if non-empty) and kEnd
  std::vector<std::string> errors;  // "3:5: unterminated string"; tokens stay best-effort
};

// `source` must outlive the returned tokens (their `text` views point into it).
TokenStream Tokenize(std::string_view source);

bool IsKeyword(std::string_view name);

}  // namespace hive::analyze
