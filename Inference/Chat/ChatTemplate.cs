using System.Globalization;
using System.Text;
using System.Text.Json;

namespace CustomerGrains.Inference.Chat;

/// <summary>A chat template the model's tokenizer_config.json carries that cannot be parsed or rendered here.</summary>
public sealed class ChatTemplateException(string message) : Exception(message);

/// <summary>
/// A model's own chat format: the Jinja <c>chat_template</c> of its tokenizer_config.json, rendered over the turns with
/// its <c>bos_token</c> and <c>eos_token</c> and <c>add_generation_prompt</c>. No .NET package renders Jinja (Fluid and
/// Scriban speak Liquid and their own language: <c>{{- ... }}</c>, <c>loop.index0</c>, <c>is defined</c>, Python string
/// methods differ), so this is the subset chat templates use: text, <c>{{ }}</c> and <c>{% %}</c> with whitespace control,
/// <c>if/elif/else</c>, <c>for</c> (with <c>loop</c>), <c>set</c>, literals, names, attributes, subscripts and slices,
/// arithmetic, comparisons, <c>and/or/not/in</c>, tests (<c>defined</c>, <c>none</c>, <c>string</c>, <c>iterable</c>,
/// <c>mapping</c>), filters (<c>trim</c>, <c>tojson</c>, <c>length</c>, <c>lower</c>, <c>upper</c>, <c>default</c>,
/// <c>string</c>) and <c>raise_exception</c>. What it does not know fails when the template is loaded, naming it. A
/// template that refuses a system turn (Gemma) gets the system text folded into the first user turn.
/// </summary>
public sealed partial class ChatTemplate
{
    private readonly List<Node> _nodes;

    private ChatTemplate(string source, List<Node> nodes, string? bos, string? eos)
    {
        Source = source;
        _nodes = nodes;
        BosToken = bos;
        EosToken = eos;
    }

    public string Source { get; }

    public string? BosToken { get; }

    public string? EosToken { get; }

    /// <summary>The template of a tokenizer_config.json, or null when it has none. Throws <see cref="ChatTemplateException"/>
    /// naming what cannot be parsed.</summary>
    public static ChatTemplate? Load(string tokenizerConfigPath)
    {
        if (!File.Exists(tokenizerConfigPath))
        {
            return null;
        }

        using var document = JsonDocument.Parse(File.ReadAllBytes(tokenizerConfigPath));
        var root = document.RootElement;
        if (!root.TryGetProperty("chat_template", out var template))
        {
            return null;
        }

        // Either the template, or named templates of which "default" is the chat one.
        var source = template.ValueKind == JsonValueKind.String ? template.GetString()!
            : template.ValueKind == JsonValueKind.Array
                ? template.EnumerateArray().FirstOrDefault(t => t.TryGetProperty("name", out var n) && n.GetString() == "default").TryGetProperty("template", out var chosen)
                    ? chosen.GetString()!
                    : throw new ChatTemplateException($"{tokenizerConfigPath}: chat_template lists no template named 'default'.")
                : throw new ChatTemplateException($"{tokenizerConfigPath}: chat_template is neither a string nor a list of named templates.");
        return Parse(source, TokenText(root, "bos_token"), TokenText(root, "eos_token"));
    }

    public static ChatTemplate Parse(string source, string? bos = null, string? eos = null)
    {
        try
        {
            // Jinja drops a template's one trailing newline (keep_trailing_newline is off by default, as in transformers).
            var body = source.EndsWith("\r\n", StringComparison.Ordinal) ? source[..^2] : source.EndsWith('\n') ? source[..^1] : source;
            return new ChatTemplate(source, new Parser(Lexer.Tokens(body)).Template(), bos, eos);
        }
        catch (ChatTemplateException ex)
        {
            throw new ChatTemplateException($"The model's chat template cannot be rendered here: {ex.Message}");
        }
    }

    /// <summary>The turns in the model's format, the assistant's turn opened. A template that refuses a system turn
    /// gets the system text at the start of the first user turn instead.</summary>
    public string Render(IReadOnlyList<ChatTurn> turns)
    {
        try
        {
            return RenderAs(turns);
        }
        catch (TemplateRaised) when (turns.Count > 1 && turns[0].Role == ChatTurnRole.System && turns[1].Role == ChatTurnRole.User)
        {
            try
            {
                return RenderAs([new ChatTurn(ChatTurnRole.User, turns[0].Content.TrimEnd() + "\n\n" + turns[1].Content), .. turns.Skip(2)]);
            }
            catch (TemplateRaised refused)
            {
                throw new ChatTemplateException($"The model's chat template refuses the conversation: {refused.Message}");
            }
        }
        catch (TemplateRaised refused)
        {
            throw new ChatTemplateException($"The model's chat template refuses the conversation: {refused.Message}");
        }
    }

    private string RenderAs(IReadOnlyList<ChatTurn> turns)
    {
        var messages = turns.Select(t => (object?)new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["role"] = ChatMl.RoleName(t.Role),
            ["content"] = ChatMl.WithoutMarkers(t.Content),
        }).ToList();
        var scope = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["messages"] = messages,
            ["add_generation_prompt"] = true,
            ["bos_token"] = BosToken ?? "",
            ["eos_token"] = EosToken ?? "",
        };
        var output = new StringBuilder();
        Execute(_nodes, scope, output);
        return output.ToString();
    }

    private static string? TokenText(JsonElement root, string name) =>
        root.TryGetProperty(name, out var token)
            ? token.ValueKind == JsonValueKind.String ? token.GetString()
            : token.ValueKind == JsonValueKind.Object && token.TryGetProperty("content", out var content) ? content.GetString() : null
            : null;

    // ---- the tree ----

    private abstract record Node;

    private sealed record TextNode(string Text) : Node;

    private sealed record OutputNode(Expr Value) : Node;

    private sealed record IfNode(List<(Expr Condition, List<Node> Body)> Branches, List<Node>? Else) : Node;

    private sealed record ForNode(string[] Targets, Expr Items, List<Node> Body, List<Node>? Else) : Node;

    private sealed record SetNode(Expr Target, Expr Value) : Node;

    private abstract record Expr;

    private sealed record Literal(object? Value) : Expr;

    private sealed record ListExpr(List<Expr> Items) : Expr;

    private sealed record Name(string Id) : Expr;

    private sealed record Attribute(Expr Target, string Member) : Expr;

    private sealed record Subscript(Expr Target, Expr Index) : Expr;

    private sealed record Slice(Expr Target, Expr? Start, Expr? Stop) : Expr;

    private sealed record Call(Expr Function, List<Expr> Arguments, Dictionary<string, Expr> Named) : Expr;

    private sealed record Filter(Expr Value, string Name, List<Expr> Arguments) : Expr;

    private sealed record Test(Expr Value, string Name, bool Negated) : Expr;

    private sealed record Unary(string Op, Expr Operand) : Expr;

    private sealed record Binary(string Op, Expr Left, Expr Right) : Expr;

    private sealed record Conditional(Expr Condition, Expr Then, Expr? Else) : Expr;

    private sealed class Undefined
    {
        public static readonly Undefined Value = new();
    }

    private sealed class TemplateRaised(string message) : Exception(message);

    // ---- rendering ----

    private static void Execute(List<Node> nodes, Dictionary<string, object?> scope, StringBuilder output)
    {
        foreach (var node in nodes)
        {
            switch (node)
            {
                case TextNode text:
                    output.Append(text.Text);
                    break;
                case OutputNode value:
                    output.Append(Text(Evaluate(value.Value, scope)));
                    break;
                case IfNode branches:
                    var taken = branches.Branches.FirstOrDefault(b => Truthy(Evaluate(b.Condition, scope)));
                    var body = taken.Body ?? branches.Else;
                    if (body is not null)
                    {
                        Execute(body, scope, output);
                    }

                    break;
                case ForNode loop:
                    RunFor(loop, scope, output);
                    break;
                case SetNode set:
                    Assign(set.Target, Evaluate(set.Value, scope), scope);
                    break;
            }
        }
    }

    private static void RunFor(ForNode loop, Dictionary<string, object?> scope, StringBuilder output)
    {
        var items = Evaluate(loop.Items, scope) switch
        {
            List<object?> list => list,
            Dictionary<string, object?> map => [.. map.Keys],
            string text => [.. text.Select(c => (object?)c.ToString())],
            Undefined or null => [],
            var other => throw new ChatTemplateException($"'for' cannot go over a {TypeName(other)}."),
        };
        if (items.Count == 0)
        {
            if (loop.Else is not null)
            {
                Execute(loop.Else, scope, output);
            }

            return;
        }

        // Jinja's loop scope: what the body sets stays in it; the outer names are restored afterwards.
        var saved = loop.Targets.Append("loop").ToDictionary(n => n, n => scope.TryGetValue(n, out var v) ? v : Undefined.Value);
        for (var i = 0; i < items.Count; i++)
        {
            if (loop.Targets.Length == 1)
            {
                scope[loop.Targets[0]] = items[i];
            }
            else
            {
                var parts = items[i] as List<object?> ?? throw new ChatTemplateException("'for a, b in ...' needs pairs.");
                for (var t = 0; t < loop.Targets.Length; t++)
                {
                    scope[loop.Targets[t]] = t < parts.Count ? parts[t] : Undefined.Value;
                }
            }

            scope["loop"] = new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["index0"] = (long)i, ["index"] = (long)i + 1, ["first"] = i == 0, ["last"] = i == items.Count - 1,
                ["length"] = (long)items.Count, ["revindex0"] = (long)(items.Count - 1 - i), ["revindex"] = (long)(items.Count - i),
                ["previtem"] = i > 0 ? items[i - 1] : Undefined.Value, ["nextitem"] = i + 1 < items.Count ? items[i + 1] : Undefined.Value,
            };
            Execute(loop.Body, scope, output);
        }

        foreach (var (name, value) in saved)
        {
            if (value is Undefined)
            {
                scope.Remove(name);
            }
            else
            {
                scope[name] = value;
            }
        }
    }

    private static void Assign(Expr target, object? value, Dictionary<string, object?> scope)
    {
        switch (target)
        {
            case Name name:
                scope[name.Id] = value;
                break;
            case Attribute { Target: var owner, Member: var member } when Evaluate(owner, scope) is Dictionary<string, object?> map:
                map[member] = value; // namespace(...) objects
                break;
            default:
                throw new ChatTemplateException("'set' assigns to a name or to a namespace's attribute only.");
        }
    }

    private static object? Evaluate(Expr expr, Dictionary<string, object?> scope)
    {
        switch (expr)
        {
            case Literal literal:
                return literal.Value;
            case ListExpr list:
                return list.Items.Select(i => Evaluate(i, scope)).ToList();
            case Name name:
                return scope.TryGetValue(name.Id, out var value) ? value : Undefined.Value;
            case Attribute attribute:
                return Member(Evaluate(attribute.Target, scope), attribute.Member);
            case Subscript subscript:
                return Index(Evaluate(subscript.Target, scope), Evaluate(subscript.Index, scope));
            case Slice slice:
                return SliceOf(Evaluate(slice.Target, scope), slice.Start is null ? null : Evaluate(slice.Start, scope), slice.Stop is null ? null : Evaluate(slice.Stop, scope));
            case Conditional conditional:
                return Truthy(Evaluate(conditional.Condition, scope)) ? Evaluate(conditional.Then, scope) : conditional.Else is null ? "" : Evaluate(conditional.Else, scope);
            case Unary { Op: "not" } not:
                return !Truthy(Evaluate(not.Operand, scope));
            case Unary { Op: "-" } negative:
                return Evaluate(negative.Operand, scope) switch { long l => -l, double d => -d, var other => throw new ChatTemplateException($"'-' cannot negate a {TypeName(other)}.") };
            case Binary { Op: "and" } and:
                return Evaluate(and.Left, scope) is var left && !Truthy(left) ? left : Evaluate(and.Right, scope);
            case Binary { Op: "or" } or:
                return Evaluate(or.Left, scope) is var first && Truthy(first) ? first : Evaluate(or.Right, scope);
            case Binary binary:
                return Operate(binary.Op, Evaluate(binary.Left, scope), Evaluate(binary.Right, scope));
            case Test test:
                return TestOf(test.Name, Evaluate(test.Value, scope)) != test.Negated;
            case Filter filter:
                return Apply(filter.Name, Evaluate(filter.Value, scope), [.. filter.Arguments.Select(a => Evaluate(a, scope))]);
            case Call call:
                return Invoke(call, scope);
            default:
                throw new ChatTemplateException($"unknown expression {expr.GetType().Name}.");
        }
    }

    private static object? Invoke(Call call, Dictionary<string, object?> scope)
    {
        var arguments = call.Arguments.Select(a => Evaluate(a, scope)).ToList();
        switch (call.Function)
        {
            case Name { Id: "raise_exception" }:
                throw new TemplateRaised(arguments.Count > 0 ? Text(arguments[0]) : "raised");
            case Name { Id: "namespace" }:
                return call.Named.ToDictionary(n => n.Key, n => Evaluate(n.Value, scope), StringComparer.Ordinal);
            case Name { Id: "range" }:
                var (from, to) = arguments.Count == 1 ? (0L, ToLong(arguments[0])) : (ToLong(arguments[0]), ToLong(arguments[1]));
                return Enumerable.Range((int)from, (int)Math.Max(0, to - from)).Select(i => (object?)(long)i).ToList();
            case Attribute { Member: var method, Target: var target }:
                return StringMethod(Evaluate(target, scope), method, arguments);
            default:
                throw new ChatTemplateException("calls are limited to raise_exception, namespace, range and string methods.");
        }
    }

    private static object? StringMethod(object? target, string method, List<object?> arguments)
    {
        if (target is Dictionary<string, object?> map && method is "items" or "keys" or "values" or "get")
        {
            return method switch
            {
                "items" => map.Select(p => (object?)new List<object?> { p.Key, p.Value }).ToList(),
                "keys" => map.Keys.Select(k => (object?)k).ToList(),
                "values" => map.Values.ToList(),
                _ => map.TryGetValue(Text(arguments[0]), out var found) ? found : arguments.Count > 1 ? arguments[1] : null,
            };
        }

        var text = target as string ?? throw new ChatTemplateException($"'.{method}()' is called on a {TypeName(target)}, not a string.");
        return method switch
        {
            "strip" => arguments.Count > 0 ? text.Trim(Text(arguments[0]).ToCharArray()) : text.Trim(),
            "lstrip" => text.TrimStart(),
            "rstrip" => text.TrimEnd(),
            "lower" => text.ToLowerInvariant(),
            "upper" => text.ToUpperInvariant(),
            "startswith" => text.StartsWith(Text(arguments[0]), StringComparison.Ordinal),
            "endswith" => text.EndsWith(Text(arguments[0]), StringComparison.Ordinal),
            "split" => (arguments.Count > 0 ? text.Split(Text(arguments[0])) : text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)).Select(p => (object?)p).ToList(),
            "replace" => text.Replace(Text(arguments[0]), Text(arguments[1]), StringComparison.Ordinal),
            _ => throw new ChatTemplateException($"the string method '{method}' is not supported."),
        };
    }

    private static object? Member(object? target, string member) => target switch
    {
        Dictionary<string, object?> map => map.TryGetValue(member, out var value) ? value : Undefined.Value,
        _ => Undefined.Value,
    };

    private static object? Index(object? target, object? index) => target switch
    {
        Dictionary<string, object?> map => map.TryGetValue(Text(index), out var value) ? value : Undefined.Value,
        List<object?> list when index is long i => i < 0 ? (list.Count + i >= 0 ? list[(int)(list.Count + i)] : Undefined.Value) : i < list.Count ? list[(int)i] : Undefined.Value,
        string text when index is long i => i < 0 ? text[(int)(text.Length + i)].ToString() : text[(int)i].ToString(),
        _ => Undefined.Value,
    };

    private static object? SliceOf(object? target, object? start, object? stop)
    {
        int Bound(object? value, int length, int fallback) => value is long l ? (int)Math.Clamp(l < 0 ? length + l : l, 0, length) : fallback;
        return target switch
        {
            List<object?> list => list.Skip(Bound(start, list.Count, 0)).Take(Math.Max(0, Bound(stop, list.Count, list.Count) - Bound(start, list.Count, 0))).ToList(),
            string text => text[Bound(start, text.Length, 0)..Math.Max(Bound(start, text.Length, 0), Bound(stop, text.Length, text.Length))],
            _ => throw new ChatTemplateException($"cannot slice a {TypeName(target)}."),
        };
    }

    private static object? Operate(string op, object? left, object? right) => op switch
    {
        "==" => Same(left, right),
        "!=" => !Same(left, right),
        "<" or ">" or "<=" or ">=" => Compare(op, left, right),
        "in" => Contains(right, left),
        "not in" => !Contains(right, left),
        "~" => Text(left) + Text(right),
        "+" when left is string || right is string => left is string l && right is string r ? l + r : throw new ChatTemplateException($"'+' joins two strings, not a {TypeName(left)} and a {TypeName(right)}."),
        "+" when left is List<object?> a && right is List<object?> b => a.Concat(b).ToList(),
        "+" or "-" or "*" or "/" or "//" or "%" => Arithmetic(op, left, right),
        _ => throw new ChatTemplateException($"the operator '{op}' is not supported."),
    };

    private static object Arithmetic(string op, object? left, object? right)
    {
        if (left is long a && right is long b && op != "/")
        {
            return op switch { "+" => a + b, "-" => a - b, "*" => a * b, "//" => Math.DivRem(a, b).Quotient, _ => ((a % b) + b) % b };
        }

        var (x, y) = (ToDouble(left), ToDouble(right));
        return op switch { "+" => x + y, "-" => x - y, "*" => x * y, "/" => x / y, "//" => Math.Floor(x / y), _ => x % y };
    }

    private static bool Compare(string op, object? left, object? right)
    {
        var order = left is string l && right is string r ? string.CompareOrdinal(l, r) : ToDouble(left).CompareTo(ToDouble(right));
        return op switch { "<" => order < 0, ">" => order > 0, "<=" => order <= 0, _ => order >= 0 };
    }

    private static bool Same(object? left, object? right) => (left, right) switch
    {
        (null or Undefined, null or Undefined) => left?.GetType() == right?.GetType(),
        (long a, double b) => a == b,
        (double a, long b) => a == b,
        _ => Equals(left, right),
    };

    private static bool Contains(object? container, object? item) => container switch
    {
        string text => text.Contains(Text(item), StringComparison.Ordinal),
        List<object?> list => list.Any(x => Same(x, item)),
        Dictionary<string, object?> map => item is string key && map.ContainsKey(key),
        _ => false,
    };

    private static bool TestOf(string name, object? value) => name switch
    {
        "defined" => value is not Undefined,
        "undefined" => value is Undefined,
        "none" => value is null,
        "string" => value is string,
        "number" => value is long or double,
        "boolean" => value is bool,
        "mapping" => value is Dictionary<string, object?>,
        "iterable" or "sequence" => value is string or List<object?> or Dictionary<string, object?>,
        "true" => value is true,
        "false" => value is false,
        _ => throw new ChatTemplateException($"the test 'is {name}' is not supported."),
    };

    private static object? Apply(string name, object? value, List<object?> arguments) => name switch
    {
        "trim" => Text(value).Trim(),
        "lower" => Text(value).ToLowerInvariant(),
        "upper" => Text(value).ToUpperInvariant(),
        "string" => Text(value),
        "length" or "count" => (long)(value switch { string s => s.Length, List<object?> l => l.Count, Dictionary<string, object?> m => m.Count, _ => 0 }),
        "default" or "d" => value is Undefined || (arguments.Count > 1 && arguments[1] is true && !Truthy(value)) ? (arguments.Count > 0 ? arguments[0] : "") : value,
        "tojson" => JsonSerializer.Serialize(Plain(value), new JsonSerializerOptions { WriteIndented = arguments.Count > 0 }),
        "first" => value is List<object?> { Count: > 0 } first ? first[0] : Undefined.Value,
        "last" => value is List<object?> { Count: > 0 } last ? last[^1] : Undefined.Value,
        "join" => string.Join(arguments.Count > 0 ? Text(arguments[0]) : "", (value as List<object?> ?? []).Select(Text)),
        "list" => value is List<object?> list ? list : value is string s ? s.Select(c => (object?)c.ToString()).ToList() : [],
        "int" => value is long l ? l : long.TryParse(Text(value), CultureInfo.InvariantCulture, out var parsed) ? parsed : 0L,
        _ => throw new ChatTemplateException($"the filter '{name}' is not supported."),
    };

    private static object? Plain(object? value) => value switch
    {
        Undefined => null,
        List<object?> list => list.Select(Plain).ToList(),
        Dictionary<string, object?> map => map.ToDictionary(p => p.Key, p => Plain(p.Value)),
        _ => value,
    };

    private static bool Truthy(object? value) => value switch
    {
        null or Undefined => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        List<object?> list => list.Count > 0,
        Dictionary<string, object?> map => map.Count > 0,
        _ => true,
    };

    private static string Text(object? value) => value switch
    {
        null or Undefined => "",
        string s => s,
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => d.ToString(CultureInfo.InvariantCulture),
        _ => JsonSerializer.Serialize(Plain(value)),
    };

    private static long ToLong(object? value) => value is long l ? l : (long)ToDouble(value);

    private static double ToDouble(object? value) => value switch
    {
        long l => l,
        double d => d,
        bool b => b ? 1 : 0,
        _ => throw new ChatTemplateException($"a {TypeName(value)} is not a number."),
    };

    private static string TypeName(object? value) => value switch
    {
        null => "none",
        Undefined => "undefined value",
        string => "string",
        long or double => "number",
        bool => "boolean",
        List<object?> => "list",
        Dictionary<string, object?> => "mapping",
        _ => value.GetType().Name,
    };
}
