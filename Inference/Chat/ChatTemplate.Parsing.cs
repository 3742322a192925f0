using System.Globalization;
using System.Text;

namespace CustomerGrains.Inference.Chat;

/// <summary>The template's text read into the tree <see cref="ChatTemplate"/> renders: tokens, then nodes and
/// expressions with Jinja's precedence (or, and, not, comparisons and tests, ~, + and -, * / // %, unary minus,
/// filters, then attributes, subscripts, slices and calls).</summary>
public sealed partial class ChatTemplate
{
    // ---- lexing ----

    private enum Kind
    {
        Text,
        OutputStart,
        StatementStart,
        End,
        Name,
        String,
        Integer,
        Float,
        Operator,
    }

    private sealed record Token(Kind Kind, string Value, int At);

    private static class Lexer
    {
        private static readonly string[] Operators = ["//", "==", "!=", "<=", ">=", "(", ")", "[", "]", "{", "}", ",", ".", ":", "|", "+", "-", "*", "/", "%", "<", ">", "=", "~"];

        public static List<Token> Tokens(string source)
        {
            var tokens = new List<Token>();
            var i = 0;
            var trimNext = false;
            while (i < source.Length)
            {
                var open = IndexOfTag(source, i);
                var text = source[i..(open < 0 ? source.Length : open)];
                if (trimNext)
                {
                    text = text.TrimStart();
                }

                var trimBefore = open >= 0 && open + 2 < source.Length && source[open + 2] == '-';
                if (trimBefore)
                {
                    text = text.TrimEnd();
                }

                // Jinja's lstrip_blocks/trim_blocks are off in transformers' chat templates, so text stays as it is.
                if (text.Length > 0)
                {
                    tokens.Add(new Token(Kind.Text, text, i));
                }

                if (open < 0)
                {
                    break;
                }

                var kind = source[open + 1];
                var close = kind switch { '{' => "}}", '%' => "%}", _ => "#}" };
                var bodyStart = open + 2 + (trimBefore ? 1 : 0);
                var end = source.IndexOf(close, bodyStart, StringComparison.Ordinal);
                if (end < 0)
                {
                    throw new ChatTemplateException($"a tag opened at character {open} is never closed.");
                }

                var trimAfter = end > bodyStart && source[end - 1] == '-';
                if (kind != '#')
                {
                    tokens.Add(new Token(kind == '{' ? Kind.OutputStart : Kind.StatementStart, "", open));
                    Expression(source, bodyStart, trimAfter ? end - 1 : end, tokens);
                    tokens.Add(new Token(Kind.End, close, end));
                }

                trimNext = trimAfter;
                i = end + 2;
            }

            return tokens;
        }

        private static int IndexOfTag(string source, int from)
        {
            for (var i = source.IndexOf('{', from); i >= 0 && i + 1 < source.Length; i = source.IndexOf('{', i + 1))
            {
                if (source[i + 1] is '{' or '%' or '#')
                {
                    return i;
                }
            }

            return -1;
        }

        private static void Expression(string source, int from, int to, List<Token> tokens)
        {
            var i = from;
            while (i < to)
            {
                var c = source[i];
                if (char.IsWhiteSpace(c))
                {
                    i++;
                }
                else if (char.IsLetter(c) || c == '_')
                {
                    var start = i;
                    while (i < to && (char.IsLetterOrDigit(source[i]) || source[i] == '_'))
                    {
                        i++;
                    }

                    tokens.Add(new Token(Kind.Name, source[start..i], start));
                }
                else if (char.IsDigit(c))
                {
                    var start = i;
                    while (i < to && (char.IsDigit(source[i]) || source[i] == '.'))
                    {
                        i++;
                    }

                    var number = source[start..i];
                    tokens.Add(new Token(number.Contains('.') ? Kind.Float : Kind.Integer, number, start));
                }
                else if (c is '\'' or '"')
                {
                    var text = new StringBuilder();
                    var start = i++;
                    while (i < to && source[i] != c)
                    {
                        if (source[i] == '\\' && i + 1 < to)
                        {
                            i++;
                            text.Append(source[i] switch { 'n' => '\n', 't' => '\t', 'r' => '\r', var escaped => escaped });
                        }
                        else
                        {
                            text.Append(source[i]);
                        }

                        i++;
                    }

                    if (i >= to)
                    {
                        throw new ChatTemplateException($"a string opened at character {start} is never closed.");
                    }

                    i++;
                    tokens.Add(new Token(Kind.String, text.ToString(), start));
                }
                else
                {
                    var op = Operators.FirstOrDefault(o => string.CompareOrdinal(source, i, o, 0, o.Length) == 0)
                        ?? throw new ChatTemplateException($"unexpected '{c}' at character {i}.");
                    tokens.Add(new Token(Kind.Operator, op, i));
                    i += op.Length;
                }
            }
        }
    }

    // ---- parsing ----

    private sealed class Parser(List<Token> tokens)
    {
        private int _at;

        public List<Node> Template()
        {
            var nodes = Block(out var stop);
            return stop is null ? nodes : throw new ChatTemplateException($"'{stop}' without its opening tag.");
        }

        /// <summary>Nodes until a block-ending statement (endif, elif, else, endfor), whose keyword is returned in <paramref name="stop"/>.</summary>
        private List<Node> Block(out string? stop)
        {
            var nodes = new List<Node>();
            while (_at < tokens.Count)
            {
                var token = tokens[_at++];
                switch (token.Kind)
                {
                    case Kind.Text:
                        nodes.Add(new TextNode(token.Value));
                        break;
                    case Kind.OutputStart:
                        var value = Expression();
                        Expect(Kind.End);
                        nodes.Add(new OutputNode(value));
                        break;
                    case Kind.StatementStart:
                        var keyword = NameToken();
                        switch (keyword)
                        {
                            case "if":
                                nodes.Add(If());
                                break;
                            case "for":
                                nodes.Add(For());
                                break;
                            case "set":
                                var target = Postfix(Primary());
                                Expect(Kind.Operator, "=");
                                var assigned = Expression();
                                Expect(Kind.End);
                                nodes.Add(new SetNode(target, assigned));
                                break;
                            case "endif" or "elif" or "else" or "endfor":
                                stop = keyword;
                                return nodes;
                            default:
                                throw new ChatTemplateException($"the statement '{{% {keyword} %}}' is not supported (macros, blocks, includes and generation tags are not).");
                        }

                        break;
                    default:
                        throw new ChatTemplateException($"unexpected '{token.Value}' at character {token.At}.");
                }
            }

            stop = null;
            return nodes;
        }

        private IfNode If()
        {
            var branches = new List<(Expr, List<Node>)>();
            var condition = Expression();
            Expect(Kind.End);
            while (true)
            {
                var body = Block(out var stop);
                branches.Add((condition, body));
                switch (stop)
                {
                    case "elif":
                        condition = Expression();
                        Expect(Kind.End);
                        continue;
                    case "else":
                        Expect(Kind.End);
                        var otherwise = Block(out var end);
                        ExpectStop(end, "endif");
                        return new IfNode(branches, otherwise);
                    default:
                        ExpectStop(stop, "endif");
                        return new IfNode(branches, null);
                }
            }
        }

        private ForNode For()
        {
            var targets = new List<string> { NameToken() };
            while (Accept(Kind.Operator, ","))
            {
                targets.Add(NameToken());
            }

            if (NameToken() != "in")
            {
                throw new ChatTemplateException("'for' needs 'in'.");
            }

            var items = Or();
            if (Peek(Kind.Name, "if"))
            {
                throw new ChatTemplateException("'for ... if' filters are not supported.");
            }

            Expect(Kind.End);
            var body = Block(out var stop);
            List<Node>? otherwise = null;
            if (stop == "else")
            {
                Expect(Kind.End);
                otherwise = Block(out stop);
            }

            ExpectStop(stop, "endfor");
            return new ForNode([.. targets], items, body, otherwise);
        }

        private void ExpectStop(string? stop, string wanted)
        {
            if (stop != wanted)
            {
                throw new ChatTemplateException(stop is null ? $"'{wanted}' is missing." : $"'{stop}' where '{wanted}' was expected.");
            }

            Expect(Kind.End);
        }

        private Expr Expression()
        {
            var value = Or();
            if (Accept(Kind.Name, "if"))
            {
                var condition = Or();
                Expr? otherwise = Accept(Kind.Name, "else") ? Expression() : null;
                return new Conditional(condition, value, otherwise);
            }

            return value;
        }

        private Expr Or()
        {
            var left = And();
            while (Accept(Kind.Name, "or"))
            {
                left = new Binary("or", left, And());
            }

            return left;
        }

        private Expr And()
        {
            var left = Not();
            while (Accept(Kind.Name, "and"))
            {
                left = new Binary("and", left, Not());
            }

            return left;
        }

        private Expr Not() => Accept(Kind.Name, "not") ? new Unary("not", Not()) : Comparison();

        private Expr Comparison()
        {
            var left = Concatenation();
            while (true)
            {
                if (tokens[_at] is { Kind: Kind.Operator, Value: "==" or "!=" or "<" or ">" or "<=" or ">=" } op)
                {
                    _at++;
                    left = new Binary(op.Value, left, Concatenation());
                }
                else if (Accept(Kind.Name, "in"))
                {
                    left = new Binary("in", left, Concatenation());
                }
                else if (Peek(Kind.Name, "not") && tokens[_at + 1] is { Kind: Kind.Name, Value: "in" })
                {
                    _at += 2;
                    left = new Binary("not in", left, Concatenation());
                }
                else if (Accept(Kind.Name, "is"))
                {
                    var negated = Accept(Kind.Name, "not");
                    left = new Test(left, NameToken(), negated);
                }
                else
                {
                    return left;
                }
            }
        }

        private Expr Concatenation()
        {
            var left = Sum();
            while (Accept(Kind.Operator, "~"))
            {
                left = new Binary("~", left, Sum());
            }

            return left;
        }

        private Expr Sum()
        {
            var left = Product();
            while (tokens[_at] is { Kind: Kind.Operator, Value: "+" or "-" } op)
            {
                _at++;
                left = new Binary(op.Value, left, Product());
            }

            return left;
        }

        private Expr Product()
        {
            var left = Unary();
            while (tokens[_at] is { Kind: Kind.Operator, Value: "*" or "/" or "//" or "%" } op)
            {
                _at++;
                left = new Binary(op.Value, left, Unary());
            }

            return left;
        }

        private Expr Unary() => Accept(Kind.Operator, "-") ? new Unary("-", Unary()) : Filtered(Postfix(Primary()));

        private Expr Filtered(Expr value)
        {
            while (Accept(Kind.Operator, "|"))
            {
                var name = NameToken();
                var arguments = new List<Expr>();
                if (Accept(Kind.Operator, "("))
                {
                    Arguments(arguments, []);
                }

                value = new Filter(value, name, arguments);
            }

            return value;
        }

        private Expr Postfix(Expr value)
        {
            while (true)
            {
                if (Accept(Kind.Operator, "."))
                {
                    value = new Attribute(value, NameToken());
                }
                else if (Accept(Kind.Operator, "["))
                {
                    Expr? start = Peek(Kind.Operator, ":") ? null : Expression();
                    if (Accept(Kind.Operator, ":"))
                    {
                        Expr? stop = Peek(Kind.Operator, "]") ? null : Expression();
                        Expect(Kind.Operator, "]");
                        value = new Slice(value, start, stop);
                    }
                    else
                    {
                        Expect(Kind.Operator, "]");
                        value = new Subscript(value, start!);
                    }
                }
                else if (Accept(Kind.Operator, "("))
                {
                    var call = new Call(value, [], new Dictionary<string, Expr>(StringComparer.Ordinal));
                    Arguments(call.Arguments, call.Named);
                    value = call;
                }
                else
                {
                    return value;
                }
            }
        }

        private void Arguments(List<Expr> positional, Dictionary<string, Expr> named)
        {
            while (!Accept(Kind.Operator, ")"))
            {
                if (tokens[_at].Kind == Kind.Name && tokens[_at + 1] is { Kind: Kind.Operator, Value: "=" })
                {
                    var name = tokens[_at].Value;
                    _at += 2;
                    named[name] = Expression();
                }
                else
                {
                    positional.Add(Expression());
                }

                Accept(Kind.Operator, ",");
            }
        }

        private Expr Primary()
        {
            var token = tokens[_at++];
            switch (token.Kind)
            {
                case Kind.String:
                    var text = token.Value;
                    while (tokens[_at].Kind == Kind.String)
                    {
                        text += tokens[_at++].Value; // adjacent literals join, as in Python
                    }

                    return new Literal(text);
                case Kind.Integer:
                    return new Literal(long.Parse(token.Value, CultureInfo.InvariantCulture));
                case Kind.Float:
                    return new Literal(double.Parse(token.Value, CultureInfo.InvariantCulture));
                case Kind.Name:
                    return token.Value switch
                    {
                        "true" or "True" => new Literal(true),
                        "false" or "False" => new Literal(false),
                        "none" or "None" => new Literal(null),
                        _ => new Name(token.Value),
                    };
                case Kind.Operator when token.Value == "(":
                    var inner = Expression();
                    Expect(Kind.Operator, ")");
                    return inner;
                case Kind.Operator when token.Value == "[":
                    var items = new List<Expr>();
                    while (!Accept(Kind.Operator, "]"))
                    {
                        items.Add(Expression());
                        Accept(Kind.Operator, ",");
                    }

                    return new ListExpr(items);
                default:
                    throw new ChatTemplateException($"unexpected '{token.Value}' at character {token.At}.");
            }
        }

        private string NameToken()
        {
            var token = tokens[_at++];
            return token.Kind == Kind.Name ? token.Value : throw new ChatTemplateException($"a name was expected at character {token.At}, not '{token.Value}'.");
        }

        private bool Peek(Kind kind, string value) => tokens[_at].Kind == kind && tokens[_at].Value == value;

        private bool Accept(Kind kind, string value)
        {
            if (!Peek(kind, value))
            {
                return false;
            }

            _at++;
            return true;
        }

        private void Expect(Kind kind, string? value = null)
        {
            var token = tokens[_at++];
            if (token.Kind != kind || (value is not null && token.Value != value))
            {
                throw new ChatTemplateException($"'{value ?? kind.ToString()}' was expected at character {token.At}, not '{token.Value}'.");
            }
        }
    }
}
