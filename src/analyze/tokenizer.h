// A Python tokenizer for static analysis: every token the analyzer's rules look at, with its
// line and column, and nothing that merely looks like code inside strings and comments.
//
// It follows Python 3.12's lexical rules (PEP 701 f-strings included, which accept every
// older f-string too): string prefixes r/b/u/f/t in any case and combination, single and
// triple quotes, backslash and implicit (bracket) line joining, comments. INDENT/DEDENT are
// not produced; a statement's indentation is its first token's column.
//
//   TokenStream ts = Tokenize("x = f'{eval(y)}'\n");
//   // ts.tokens: NAME x, OP =, STRING f'...' (its fields() hold NAME eval, OP (, ...), NEWLINE
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hive::analyze {

enum class TokenKind : uint8_t {
  kName,
  kNumber,
  kString,
  kOp,
  kNewline,  // end of a logical line (also ends each f-string replacement field)
  kEnd,
};

struct StringParts;

// 40 bytes: a script holds up to one token per byte, so every member counts. A string's
// contents are a view of its source text unless decoding changed them (escapes, f-string
// fields, doubled braces); only then are they stored, with the fields, in `parts`.
struct Token {
  Token();
  Token(Token&&) noexcept;
  Token& operator=(Token&&) noexcept;
  ~Token();

  // Strings: the literal contents, escapes decoded unless raw, f-string fields left out.
  std::string_view value() const;
  // Strings: the tokens of the replacement fields, each ended by kNewline.
  const std::vector<Token>& fields() const;

  std::string_view text;  // exact source text, a view into the tokenized source
  int line = 0;           // 1-based
  int col = 0;            // 1-based, in characters
  TokenKind kind = TokenKind::kEnd;
  // Strings only.
  bool raw = false;
  bool bytes = false;
  bool fstring = false;    // f- or t-string
  uint8_t body_begin = 0;  // prefix and opening quote(s) before the contents in `text`
  uint8_t body_end = 0;    // closing quote(s) after them (0 when unterminated)
  std::unique_ptr<StringParts> parts;
};

struct StringParts {
  bool decoded = false;  // `value` holds the contents (else they are the source text)
  std::string value;
  std::vector<Token> fields;
};

struct TokenStream {
  std::vector<Token> tokens;        // always ends with kNewline (if non-empty) and kEnd
  std::vector<std::string> errors;  // "3:5: unterminated string"; tokens stay best-effort
};

class Lexer;

// A script read one logical line at a time, so that what is held at once is one line's
// tokens, never the whole script's.
//
//   TokenReader r(source);
//   std::vector<Token> line;
//   while (r.Next(&line)) ...;  // each line ends with kNewline, the last one with kEnd
class TokenReader {
 public:
  // `truncated`: the source is the first part of a longer script, so running out of text
  // inside a string or bracket is where the reading stopped, not an error.
  explicit TokenReader(std::string_view source, bool truncated = false);
  ~TokenReader();
  TokenReader(const TokenReader&) = delete;
  TokenReader& operator=(const TokenReader&) = delete;

  // Replaces *line with the next logical line's tokens; false once the end was delivered.
  bool Next(std::vector<Token>* line);
  // Syntax errors so far (at most kMaxErrors, then one line counting the rest).
  std::vector<std::string> errors() const;

  static constexpr size_t kMaxErrors = 100;

 private:
  std::unique_ptr<Lexer> lexer_;
};

// The whole source at once (tests, short snippets). `source` must outlive the returned
// tokens (their `text` views point into it), as for TokenReader.
TokenStream Tokenize(std::string_view source);

bool IsKeyword(std::string_view name);

}  // namespace hive::analyze
