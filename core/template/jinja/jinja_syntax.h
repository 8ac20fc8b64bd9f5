// The Jinja language's syntax as the interpreter sees it: tokens out of the lexer and the tree the parser
// builds from them (internal to core/template/jinja).
//
// The grammar is @huggingface/jinja's (the implementation transformers.js renders chat templates with), so the
// same template parses to the same tree: its operator precedences (filters bind tighter than `is` tests, which
// bind tighter than `*`), its whitespace handling (`lstrip_blocks` and `trim_blocks` on, one trailing newline
// dropped, `{% generation %}` tags removed) and its statements (set/if/for/macro/call/filter/break/continue).
// Every token and node keeps the line and column it came from in the template as written.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lathe::jinja {

/// A place in the template source: 1-based line and column (columns count characters, not bytes).
struct SourcePos
{
    int line = 0;
    int column = 0;
};

/// Byte offset in the template as written; turned into a SourcePos only when an error is reported.
using SourceOffset = uint32_t;

enum class TokenType
{
    Text,
    NumericLiteral,
    StringLiteral,
    Identifier,
    Equals,
    OpenParen,
    CloseParen,
    OpenStatement,
    CloseStatement,
    OpenExpression,
    CloseExpression,
    OpenSquareBracket,
    CloseSquareBracket,
    OpenCurlyBracket,
    CloseCurlyBracket,
    Comma,
    Dot,
    Colon,
    Pipe,
    AdditiveBinaryOperator,
    MultiplicativeBinaryOperator,
    ExponentiationBinaryOperator,
    ComparisonBinaryOperator,
    UnaryOperator,
    Comment,
};

struct Token
{
    std::string value;
    TokenType type = TokenType::Text;
    SourceOffset offset = 0;
};

/// Every kind of node; statements and expressions share one tree type.
enum class NodeKind
{
    // statements
    Program,
    If,
    For,
    Break,
    Continue,
    Set,
    Macro,
    Comment,
    CallStatement,
    FilterStatement,
    // expressions
    MemberExpression,
    CallExpression,
    Identifier,
    IntegerLiteral,
    FloatLiteral,
    StringLiteral,
    ArrayLiteral,
    TupleLiteral,
    ObjectLiteral,
    BinaryExpression,
    FilterExpression,
    SelectExpression,
    TestExpression,
    UnaryExpression,
    SliceExpression,
    KeywordArgumentExpression,
    SpreadExpression,
    KeywordSpreadExpression,
    Ternary,
};

struct Node;
using NodePtr = std::unique_ptr<Node>;
using NodeList = std::vector<NodePtr>;

/// One node. Which fields are used depends on the kind (listed per kind):
///  Program: body. If: a=test, body, alternate. For: a=loop variable, b=iterable, body, alternate=else block.
///  Set: a=assignee, b=value (null for a block set), body. Macro: a=name, args, body.
///  CallStatement: a=call expression, args=caller parameters (hasCallerArgs), body.
///  FilterStatement: a=filter (Identifier or CallExpression), body. Comment: text.
///  MemberExpression: a=object, b=property, computed. CallExpression: a=callee, args.
///  Identifier/StringLiteral: text. IntegerLiteral: integer. FloatLiteral: number.
///  ArrayLiteral/TupleLiteral: args. ObjectLiteral: args as key, value, key, value...
///  BinaryExpression: text=operator, a=left, b=right. FilterExpression: a=operand, b=filter.
///  SelectExpression: a=value, b=test. TestExpression: a=operand, text=test name, negate.
///  UnaryExpression: text=operator, a=argument. SliceExpression: a=start, b=stop, c=step (each may be null).
///  KeywordArgumentExpression: text=key, a=value. Spread/KeywordSpreadExpression: a=argument.
///  Ternary: a=condition, b=value if true, c=value if false.
struct Node
{
    NodeKind kind = NodeKind::Program;
    SourceOffset offset = 0;
    std::string text;
    int64_t integer = 0;
    double number = 0;
    bool computed = false;
    bool negate = false;
    bool hasCallerArgs = false;
    NodePtr a, b, c;
    NodeList args;
    NodeList body;
    NodeList alternate;
};

/// The template text after @huggingface/jinja's preprocessing, with the source offset of every byte.
struct PreparedSource
{
    std::string text;
    std::vector<SourceOffset> offsets; ///< offsets[i]: byte offset in the original of text[i]; one extra entry at the end
};

/// Preprocessing: one trailing newline dropped, lstrip_blocks and trim_blocks applied, generation tags removed.
PreparedSource prepareSource(const std::string& source);

/// Tokens of a template (throws SyntaxFailure at the offending character). Offsets refer to `source`.
std::vector<Token> tokenize(const std::string& source);

/// The tree of a template's tokens (throws SyntaxFailure at the offending token; an unclosed block is
/// reported at its opening tag). `sourceSize` is the offset reported for the end of the template.
NodePtr parse(const std::vector<Token>& tokens, SourceOffset sourceSize);

/// A syntax error before positions are mapped to the template's lines.
struct SyntaxFailure
{
    std::string message;
    SourceOffset offset = 0;
};

[[noreturn]] inline void syntaxError(std::string message, SourceOffset offset)
{
    throw SyntaxFailure{std::move(message), offset};
}

/// Line and column (1-based, columns in code points) of a byte offset of `source`.
SourcePos positionOf(const std::string& source, size_t offset);

} // namespace lathe::jinja
