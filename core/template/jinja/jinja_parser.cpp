// Jinja tokens to tree, as @huggingface/jinja 0.5 parses a chat template (its src/parser.ts ported rule by rule, so
// the same template means the same thing in both), with bounded nesting and errors at the offending token; an
// unclosed block is reported at its opening tag.
#include "template/jinja/jinja_syntax.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace lathe::jinja {

// ============================================================================================================
// Parser
// ============================================================================================================

namespace {

const char* tokenTypeName(TokenType t)
{
    switch (t) {
    case TokenType::Text: return "text";
    case TokenType::NumericLiteral: return "number";
    case TokenType::StringLiteral: return "string";
    case TokenType::Identifier: return "name";
    case TokenType::Equals: return "'='";
    case TokenType::OpenParen: return "'('";
    case TokenType::CloseParen: return "')'";
    case TokenType::OpenStatement: return "'{%'";
    case TokenType::CloseStatement: return "'%}'";
    case TokenType::OpenExpression: return "'{{'";
    case TokenType::CloseExpression: return "'}}'";
    case TokenType::OpenSquareBracket: return "'['";
    case TokenType::CloseSquareBracket: return "']'";
    case TokenType::OpenCurlyBracket: return "'{'";
    case TokenType::CloseCurlyBracket: return "'}'";
    case TokenType::Comma: return "','";
    case TokenType::Dot: return "'.'";
    case TokenType::Colon: return "':'";
    case TokenType::Pipe: return "'|'";
    case TokenType::AdditiveBinaryOperator:
    case TokenType::MultiplicativeBinaryOperator:
    case TokenType::ExponentiationBinaryOperator:
    case TokenType::ComparisonBinaryOperator:
    case TokenType::UnaryOperator: return "operator";
    case TokenType::Comment: return "comment";
    }
    return "token";
}

class Parser
{
public:
    Parser(const std::vector<Token>& tokens, SourceOffset end) : m_tokens(tokens), m_end(end) {}

    NodePtr program()
    {
        auto root = make(NodeKind::Program, 0);
        while (m_current < m_tokens.size())
            root->body.push_back(parseAny());
        return root;
    }

private:
    const std::vector<Token>& m_tokens;
    SourceOffset m_end;
    size_t m_current = 0;
    struct OpenBlock
    {
        std::string name;
        SourceOffset offset;
    };
    std::vector<OpenBlock> m_open; // the blocks being parsed, for "not closed" errors
    int m_depth = 0;

    static constexpr int kMaxNesting = 400;

    struct DepthGuard
    {
        Parser& p;
        explicit DepthGuard(Parser& parser, SourceOffset at) : p(parser)
        {
            if (++p.m_depth > kMaxNesting)
                syntaxError("the template nests deeper than " + std::to_string(kMaxNesting) + " levels", at);
        }
        ~DepthGuard() { --p.m_depth; }
    };

    NodePtr make(NodeKind kind, SourceOffset offset)
    {
        auto node = std::make_unique<Node>();
        node->kind = kind;
        node->offset = offset;
        return node;
    }

    [[noreturn]] void atEnd()
    {
        if (!m_open.empty())
            syntaxError("{% " + m_open.back().name + " %} is not closed (the template ends first)",
                        m_open.back().offset);
        syntaxError("unexpected end of template", m_end);
    }
    const Token& peek(size_t ahead = 0)
    {
        if (m_current + ahead >= m_tokens.size())
            atEnd();
        return m_tokens[m_current + ahead];
    }
    SourceOffset here() { return m_current < m_tokens.size() ? m_tokens[m_current].offset : m_end; }
    const Token& next()
    {
        const Token& t = peek();
        ++m_current;
        return t;
    }
    const Token& expect(TokenType type, const char* what)
    {
        const Token& t = peek();
        if (t.type != type)
            syntaxError(std::string("expected ") + what + ", found " + describe(t), t.offset);
        ++m_current;
        return t;
    }
    static std::string describe(const Token& t)
    {
        if (t.type == TokenType::Identifier || t.type == TokenType::NumericLiteral)
            return "'" + t.value + "'";
        if (t.type == TokenType::AdditiveBinaryOperator || t.type == TokenType::MultiplicativeBinaryOperator ||
            t.type == TokenType::ComparisonBinaryOperator || t.type == TokenType::ExponentiationBinaryOperator ||
            t.type == TokenType::UnaryOperator)
            return "'" + t.value + "'";
        return tokenTypeName(t.type);
    }
    bool is(TokenType type) { return m_current < m_tokens.size() && m_tokens[m_current].type == type; }
    bool is2(TokenType a, TokenType b)
    {
        return m_current + 1 < m_tokens.size() && m_tokens[m_current].type == a && m_tokens[m_current + 1].type == b;
    }
    bool isStatement(std::initializer_list<const char*> names)
    {
        if (m_current + 1 >= m_tokens.size())
            return false;
        if (m_tokens[m_current].type != TokenType::OpenStatement ||
            m_tokens[m_current + 1].type != TokenType::Identifier)
            return false;
        for (const char* name : names)
            if (m_tokens[m_current + 1].value == name)
                return true;
        return false;
    }
    bool isIdentifier(const char* name, size_t ahead = 0)
    {
        return m_current + ahead < m_tokens.size() && m_tokens[m_current + ahead].type == TokenType::Identifier &&
               m_tokens[m_current + ahead].value == name;
    }
    void expectIdentifier(const char* name)
    {
        if (!isIdentifier(name))
            syntaxError(std::string("expected '") + name + "', found " + describe(peek()), here());
        ++m_current;
    }
    void expectEnd(const char* endName)
    {
        expect(TokenType::OpenStatement, "'{%'");
        expectIdentifier(endName);
        expect(TokenType::CloseStatement, "'%}'");
    }

    NodePtr parseAny()
    {
        const Token& t = peek();
        switch (t.type) {
        case TokenType::Comment: {
            auto node = make(NodeKind::Comment, t.offset);
            node->text = t.value;
            ++m_current;
            return node;
        }
        case TokenType::Text: {
            auto node = make(NodeKind::StringLiteral, t.offset);
            node->text = t.value;
            ++m_current;
            return node;
        }
        case TokenType::OpenStatement: return parseStatement();
        case TokenType::OpenExpression: {
            expect(TokenType::OpenExpression, "'{{'");
            auto e = parseExpression();
            expect(TokenType::CloseExpression, "'}}'");
            return e;
        }
        default: syntaxError("unexpected " + describe(t) + " outside {{ }} and {% %}", t.offset);
        }
    }

    // A block's body: statements up to one of `ends`.
    void parseBodyUntil(NodeList& into, std::initializer_list<const char*> ends)
    {
        while (!isStatement(ends)) {
            if (m_current >= m_tokens.size())
                atEnd();
            into.push_back(parseAny());
        }
    }

    NodePtr parseStatement()
    {
        const SourceOffset start = here();
        DepthGuard guard(*this, start);
        expect(TokenType::OpenStatement, "'{%'");
        const Token& nameToken = peek();
        if (nameToken.type != TokenType::Identifier)
            syntaxError("expected a statement name after {%, found " + describe(nameToken), nameToken.offset);
        const std::string name = nameToken.value;
        NodePtr result;
        if (name == "set") {
            ++m_current;
            result = parseSet(start);
        } else if (name == "if") {
            ++m_current;
            m_open.push_back({"if", start});
            result = parseIf(start);
            expectEnd("endif");
            m_open.pop_back();
        } else if (name == "macro") {
            ++m_current;
            m_open.push_back({"macro", start});
            result = parseMacro(start);
            expectEnd("endmacro");
            m_open.pop_back();
        } else if (name == "for") {
            ++m_current;
            m_open.push_back({"for", start});
            result = parseFor(start);
            expectEnd("endfor");
            m_open.pop_back();
        } else if (name == "call") {
            ++m_current;
            m_open.push_back({"call", start});
            result = make(NodeKind::CallStatement, start);
            if (is(TokenType::OpenParen)) {
                result->hasCallerArgs = true;
                result->args = parseArgs(true);
            }
            NodePtr callee = parsePrimary();
            if (callee->kind != NodeKind::Identifier)
                syntaxError("expected a macro name after {% call %}", callee->offset);
            auto call = make(NodeKind::CallExpression, callee->offset);
            call->a = std::move(callee);
            call->args = parseArgs(false);
            result->a = std::move(call);
            expect(TokenType::CloseStatement, "'%}'");
            parseBodyUntil(result->body, {"endcall"});
            expectEnd("endcall");
            m_open.pop_back();
        } else if (name == "break" || name == "continue") {
            ++m_current;
            expect(TokenType::CloseStatement, "'%}'");
            result = make(name == "break" ? NodeKind::Break : NodeKind::Continue, start);
        } else if (name == "filter") {
            ++m_current;
            m_open.push_back({"filter", start});
            result = make(NodeKind::FilterStatement, start);
            NodePtr filter = parsePrimary();
            if (filter->kind == NodeKind::Identifier && is(TokenType::OpenParen))
                filter = parseCall(std::move(filter));
            result->a = std::move(filter);
            expect(TokenType::CloseStatement, "'%}'");
            parseBodyUntil(result->body, {"endfilter"});
            expectEnd("endfilter");
            m_open.pop_back();
        } else {
            syntaxError("unknown statement {% " + name + " %}", nameToken.offset);
        }
        return result;
    }

    NodePtr parseSet(SourceOffset start)
    {
        auto node = make(NodeKind::Set, start);
        node->a = parseExpressionSequence(false);
        if (is(TokenType::Equals)) {
            ++m_current;
            node->b = parseExpressionSequence(false);
        } else {
            expect(TokenType::CloseStatement, "'%}' or '='");
            m_open.push_back({"set", start});
            parseBodyUntil(node->body, {"endset"});
            expect(TokenType::OpenStatement, "'{%'");
            expectIdentifier("endset");
            m_open.pop_back();
        }
        expect(TokenType::CloseStatement, "'%}'");
        return node;
    }

    NodePtr parseIf(SourceOffset start)
    {
        auto node = make(NodeKind::If, start);
        node->a = parseExpression();
        expect(TokenType::CloseStatement, "'%}'");
        parseBodyUntil(node->body, {"elif", "else", "endif"});
        if (isStatement({"elif"})) {
            const SourceOffset elifStart = here();
            m_current += 2;
            node->alternate.push_back(parseIf(elifStart));
        } else if (isStatement({"else"})) {
            m_current += 2;
            expect(TokenType::CloseStatement, "'%}'");
            parseBodyUntil(node->alternate, {"endif"});
        }
        return node;
    }

    NodePtr parseMacro(SourceOffset start)
    {
        auto node = make(NodeKind::Macro, start);
        node->a = parsePrimary();
        if (node->a->kind != NodeKind::Identifier)
            syntaxError("expected a macro name after {% macro %}", node->a->offset);
        node->args = parseArgs(true);
        expect(TokenType::CloseStatement, "'%}'");
        parseBodyUntil(node->body, {"endmacro"});
        return node;
    }

    NodePtr parseFor(SourceOffset start)
    {
        auto node = make(NodeKind::For, start);
        node->a = parseExpressionSequence(true);
        if (node->a->kind != NodeKind::Identifier && node->a->kind != NodeKind::TupleLiteral)
            syntaxError("expected a name or names for the loop variable", node->a->offset);
        if (!isIdentifier("in"))
            syntaxError("expected 'in' after the loop variable, found " + describe(peek()), here());
        ++m_current;
        node->b = parseExpression();
        expect(TokenType::CloseStatement, "'%}'");
        parseBodyUntil(node->body, {"endfor", "else"});
        if (isStatement({"else"})) {
            m_current += 2;
            expect(TokenType::CloseStatement, "'%}'");
            parseBodyUntil(node->alternate, {"endfor"});
        }
        return node;
    }

    NodePtr parseExpressionSequence(bool primary)
    {
        const SourceOffset start = here();
        NodePtr first = primary ? parsePrimary() : parseExpression();
        if (!is(TokenType::Comma))
            return first;
        auto tuple = make(NodeKind::TupleLiteral, start);
        tuple->args.push_back(std::move(first));
        while (is(TokenType::Comma)) {
            ++m_current;
            tuple->args.push_back(primary ? parsePrimary() : parseExpression());
        }
        return tuple;
    }

    NodePtr parseExpression()
    {
        DepthGuard guard(*this, here());
        return parseIfExpression();
    }

    NodePtr parseIfExpression()
    {
        NodePtr a = parseLogicalOr();
        if (isIdentifier("if")) {
            const SourceOffset at = here();
            ++m_current;
            NodePtr test = parseLogicalOr();
            if (isIdentifier("else")) {
                ++m_current;
                auto node = make(NodeKind::Ternary, at);
                node->a = std::move(test);
                node->b = std::move(a);
                DepthGuard guard(*this, at);
                node->c = parseIfExpression();
                return node;
            }
            auto node = make(NodeKind::SelectExpression, at);
            node->a = std::move(a);
            node->b = std::move(test);
            return node;
        }
        return a;
    }

    NodePtr binary(std::string op, NodePtr left, NodePtr right, SourceOffset at)
    {
        auto node = make(NodeKind::BinaryExpression, at);
        node->text = std::move(op);
        node->a = std::move(left);
        node->b = std::move(right);
        return node;
    }

    NodePtr parseLogicalOr()
    {
        NodePtr left = parseLogicalAnd();
        while (isIdentifier("or")) {
            const SourceOffset at = here();
            ++m_current;
            left = binary("or", std::move(left), parseLogicalAnd(), at);
        }
        return left;
    }
    NodePtr parseLogicalAnd()
    {
        NodePtr left = parseLogicalNot();
        while (isIdentifier("and")) {
            const SourceOffset at = here();
            ++m_current;
            left = binary("and", std::move(left), parseLogicalNot(), at);
        }
        return left;
    }
    NodePtr parseLogicalNot()
    {
        NodePtr result;
        while (isIdentifier("not")) {
            const SourceOffset at = here();
            ++m_current;
            DepthGuard guard(*this, at);
            auto node = make(NodeKind::UnaryExpression, at);
            node->text = "not";
            node->a = parseLogicalNot();
            result = std::move(node);
        }
        return result ? std::move(result) : parseComparison();
    }
    NodePtr parseComparison()
    {
        NodePtr left = parseAdditive();
        while (true) {
            const SourceOffset at = here();
            std::string op;
            if (isIdentifier("not") && isIdentifier("in", 1)) {
                op = "not in";
                m_current += 2;
            } else if (isIdentifier("in")) {
                op = "in";
                ++m_current;
            } else if (is(TokenType::ComparisonBinaryOperator)) {
                op = next().value;
            } else {
                break;
            }
            left = binary(op, std::move(left), parseAdditive(), at);
        }
        return left;
    }
    NodePtr parseAdditive()
    {
        NodePtr left = parseMultiplicative();
        while (is(TokenType::AdditiveBinaryOperator)) {
            const Token& op = next();
            left = binary(op.value, std::move(left), parseMultiplicative(), op.offset);
        }
        return left;
    }
    NodePtr parseMultiplicative()
    {
        NodePtr left = parsePower();
        while (is(TokenType::MultiplicativeBinaryOperator)) {
            const Token& op = next();
            left = binary(op.value, std::move(left), parsePower(), op.offset);
        }
        return left;
    }
    NodePtr parsePower()
    {
        NodePtr left = parseTest();
        while (is(TokenType::ExponentiationBinaryOperator)) {
            const Token& op = next();
            left = binary(op.value, std::move(left), parseTest(), op.offset);
        }
        return left;
    }
    NodePtr parseTest()
    {
        NodePtr operand = parseFilter();
        while (isIdentifier("is")) {
            const SourceOffset at = here();
            ++m_current;
            const bool negate = isIdentifier("not");
            if (negate)
                ++m_current;
            NodePtr test = parsePrimary();
            if (test->kind != NodeKind::Identifier)
                syntaxError("expected a test name after 'is'", test->offset);
            auto node = make(NodeKind::TestExpression, at);
            node->a = std::move(operand);
            node->negate = negate;
            node->text = test->text;
            operand = std::move(node);
        }
        return operand;
    }
    NodePtr parseFilter()
    {
        NodePtr operand = parseUnarySign();
        while (is(TokenType::Pipe)) {
            const SourceOffset at = here();
            ++m_current;
            NodePtr filter = parsePrimary();
            if (filter->kind != NodeKind::Identifier)
                syntaxError("expected a filter name after '|'", filter->offset);
            if (is(TokenType::OpenParen))
                filter = parseCall(std::move(filter));
            auto node = make(NodeKind::FilterExpression, at);
            node->a = std::move(operand);
            node->b = std::move(filter);
            operand = std::move(node);
        }
        return operand;
    }
    NodePtr parseUnarySign()
    {
        const Token& t = peek();
        if ((t.type == TokenType::UnaryOperator || t.type == TokenType::AdditiveBinaryOperator) &&
            (t.value == "-" || t.value == "+")) {
            ++m_current;
            DepthGuard guard(*this, t.offset);
            auto node = make(NodeKind::UnaryExpression, t.offset);
            node->text = t.value;
            node->a = parseUnarySign();
            return node;
        }
        return parseCallMember();
    }
    NodePtr parseCallMember()
    {
        NodePtr member = parseMember(parsePrimary());
        if (is(TokenType::OpenParen))
            return parseCall(std::move(member));
        return member;
    }
    NodePtr parseCall(NodePtr callee)
    {
        while (true) {
            auto call = make(NodeKind::CallExpression, callee->offset);
            call->a = std::move(callee);
            call->args = parseArgs(false);
            NodePtr expression = parseMember(std::move(call));
            if (!is(TokenType::OpenParen))
                return expression;
            callee = std::move(expression);
        }
    }

    NodeList parseArgs(bool parameters)
    {
        expect(TokenType::OpenParen, "'('");
        NodeList args;
        std::vector<std::string> names;
        bool sawKeyword = false, sawSpread = false;
        while (!is(TokenType::CloseParen)) {
            const Token& t = peek();
            const bool keywordSpread = t.type == TokenType::ExponentiationBinaryOperator;
            const bool positionalSpread = t.type == TokenType::MultiplicativeBinaryOperator && t.value == "*";
            if (parameters && (keywordSpread || positionalSpread))
                syntaxError("argument unpacking is not allowed in parameter declarations", t.offset);
            if (keywordSpread) {
                ++m_current;
                auto node = make(NodeKind::KeywordSpreadExpression, t.offset);
                node->a = parseExpression();
                args.push_back(std::move(node));
                if (is(TokenType::Comma))
                    ++m_current;
                if (!is(TokenType::CloseParen))
                    syntaxError("'**' must be applied to the last argument", here());
                break;
            }
            NodePtr argument;
            if (positionalSpread) {
                if (sawSpread)
                    syntaxError("only one '*' argument unpacking is allowed", t.offset);
                sawSpread = true;
                ++m_current;
                argument = make(NodeKind::SpreadExpression, t.offset);
                argument->a = parseExpression();
            } else {
                argument = parseExpression();
                if (is(TokenType::Equals)) {
                    ++m_current;
                    if (argument->kind != NodeKind::Identifier)
                        syntaxError(parameters ? "expected a name for the parameter" : "expected a name for the keyword argument",
                                    argument->offset);
                    auto kw = make(NodeKind::KeywordArgumentExpression, argument->offset);
                    kw->text = argument->text;
                    kw->a = parseExpression();
                    argument = std::move(kw);
                }
                if (parameters) {
                    if (argument->kind != NodeKind::Identifier && argument->kind != NodeKind::KeywordArgumentExpression)
                        syntaxError("expected a name for the parameter", argument->offset);
                    if (std::find(names.begin(), names.end(), argument->text) != names.end())
                        syntaxError("duplicate parameter name '" + argument->text + "'", argument->offset);
                    names.push_back(argument->text);
                }
                if (argument->kind == NodeKind::KeywordArgumentExpression)
                    sawKeyword = true;
                else if (sawKeyword)
                    syntaxError(parameters ? "a parameter without default follows one with a default"
                                           : "positional arguments must come before keyword arguments",
                                argument->offset);
                else if (sawSpread)
                    syntaxError("positional arguments must not follow '*' unpacking", argument->offset);
            }
            args.push_back(std::move(argument));
            if (is(TokenType::Comma))
                ++m_current;
            else if (!is(TokenType::CloseParen))
                syntaxError("expected ',' or ')' in the argument list, found " + describe(peek()), here());
        }
        expect(TokenType::CloseParen, "')'");
        return args;
    }

    NodePtr parseSubscript(SourceOffset at)
    {
        NodePtr parts[3];
        size_t count = 0;
        bool isSlice = false;
        while (!is(TokenType::CloseSquareBracket)) {
            if (count == 3)
                syntaxError("a slice takes at most three parts", here());
            if (is(TokenType::Colon)) {
                ++count;
                ++m_current;
                isSlice = true;
            } else {
                parts[count++] = parseExpression();
                if (is(TokenType::Colon)) {
                    ++m_current;
                    isSlice = true;
                } else if (!is(TokenType::CloseSquareBracket)) {
                    syntaxError("expected ']' or ':' in the subscript, found " + describe(peek()), here());
                }
            }
        }
        if (count == 0)
            syntaxError("empty subscript []", at);
        if (!isSlice)
            return std::move(parts[0]);
        auto slice = make(NodeKind::SliceExpression, at);
        slice->a = std::move(parts[0]);
        slice->b = std::move(parts[1]);
        slice->c = std::move(parts[2]);
        return slice;
    }

    NodePtr parseMember(NodePtr object)
    {
        while (is(TokenType::Dot) || is(TokenType::OpenSquareBracket)) {
            const Token& op = next();
            auto node = make(NodeKind::MemberExpression, object->offset);
            node->computed = op.type == TokenType::OpenSquareBracket;
            if (node->computed) {
                node->b = parseSubscript(op.offset);
                expect(TokenType::CloseSquareBracket, "']'");
            } else {
                node->b = parsePrimary();
                if (node->b->kind != NodeKind::Identifier && node->b->kind != NodeKind::IntegerLiteral)
                    syntaxError("expected a name or an integer after '.'", node->b->offset);
            }
            node->a = std::move(object);
            object = std::move(node);
        }
        return object;
    }

    NodePtr parsePrimary()
    {
        const Token& t = next();
        switch (t.type) {
        case TokenType::NumericLiteral: {
            const bool isFloat = t.value.find('.') != std::string::npos;
            auto node = make(isFloat ? NodeKind::FloatLiteral : NodeKind::IntegerLiteral, t.offset);
            node->number = std::strtod(t.value.c_str(), nullptr);
            if (!isFloat && !(std::fabs(node->number) <= 9.007199254740992e15))
                syntaxError("the integer " + t.value + " is too large (more than 2^53)", t.offset);
            node->integer = isFloat ? 0 : int64_t(node->number);
            return node;
        }
        case TokenType::StringLiteral: {
            auto node = make(NodeKind::StringLiteral, t.offset);
            node->text = t.value;
            while (is(TokenType::StringLiteral))
                node->text += next().value;
            return node;
        }
        case TokenType::Identifier: {
            auto node = make(NodeKind::Identifier, t.offset);
            node->text = t.value;
            return node;
        }
        case TokenType::OpenParen: {
            NodePtr e = parseExpressionSequence(false);
            expect(TokenType::CloseParen, "')'");
            return e;
        }
        case TokenType::OpenSquareBracket: {
            auto node = make(NodeKind::ArrayLiteral, t.offset);
            while (!is(TokenType::CloseSquareBracket)) {
                node->args.push_back(parseExpression());
                if (is(TokenType::Comma))
                    ++m_current;
                else if (!is(TokenType::CloseSquareBracket))
                    syntaxError("expected ',' or ']' in the list, found " + describe(peek()), here());
            }
            ++m_current;
            return node;
        }
        case TokenType::OpenCurlyBracket: {
            auto node = make(NodeKind::ObjectLiteral, t.offset);
            while (!is(TokenType::CloseCurlyBracket)) {
                node->args.push_back(parseExpression());
                expect(TokenType::Colon, "':' between key and value");
                node->args.push_back(parseExpression());
                if (is(TokenType::Comma))
                    ++m_current;
                else if (!is(TokenType::CloseCurlyBracket))
                    syntaxError("expected ',' or '}' in the mapping, found " + describe(peek()), here());
            }
            ++m_current;
            return node;
        }
        default: syntaxError("unexpected " + describe(t), t.offset);
        }
    }
};

} // namespace

NodePtr parse(const std::vector<Token>& tokens, SourceOffset sourceSize)
{
    return Parser(tokens, sourceSize).program();
}

} // namespace lathe::jinja

