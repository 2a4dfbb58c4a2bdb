using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Scoord.Tests.Support;

/// <summary>
/// One line of `scoord log --json`, parsed for assertions. Paths keep their \udcXX escapes as lone
/// surrogates (System.Text.Json refuses to unescape those, so they are decoded here by hand);
/// <see cref="Keys"/> lists every key in the order written, to check the "every key on every line" rule.
/// </summary>
public sealed record LogLine
{
    /// <summary>The keys every line must carry (docs/cli.md, "JSON output").</summary>
    public static readonly IReadOnlyList<string> RequiredKeys =
    [
        "seq", "time", "pid", "op", "path", "path2", "result", "errno", "status", "checkpoint",
        "tid", "fd", "flags", "mode", "offset", "length", "ppid", "argv", "exit_code", "signal", "refused",
        "deleted", "rollback",
        "fault",
    ];

    public required ulong Seq { get; init; }
    public required string Time { get; init; }
    public required int Pid { get; init; }
    public required string Op { get; init; }
    public string? Path { get; init; }
    public string? Path2 { get; init; }
    public long? Result { get; init; }
    public string? Errno { get; init; }
    public required string Status { get; init; }
    public long? Checkpoint { get; init; }
    public int? Tid { get; init; }
    public int? Fd { get; init; }
    public long? Flags { get; init; }
    public long? Mode { get; init; }
    public long? Offset { get; init; }
    public long? Length { get; init; }
    public int? Ppid { get; init; }
    public IReadOnlyList<string>? Argv { get; init; }
    public int? ExitCode { get; init; }
    public string? Signal { get; init; }
    public bool Refused { get; init; }
    public bool Fault { get; init; }
    public required IReadOnlyList<string> Keys { get; init; }
    public required string Raw { get; init; }

    public static IReadOnlyList<LogLine> ParseAll(string jsonLines)
    {
        ArgumentNullException.ThrowIfNull(jsonLines);
        var lines = new List<LogLine>();
        foreach (string line in jsonLines.Split('\n'))
        {
            if (line.Length > 0)
            {
                lines.Add(Parse(line));
            }
        }

        return lines;
    }

    public static LogLine Parse(string line)
    {
        using JsonDocument doc = JsonDocument.Parse(line);
        JsonElement root = doc.RootElement;
        var keys = new List<string>();
        foreach (JsonProperty p in root.EnumerateObject())
        {
            keys.Add(p.Name);
        }

        return new LogLine
        {
            Seq = root.GetProperty("seq").GetUInt64(),
            Time = root.GetProperty("time").GetString()!,
            Pid = root.GetProperty("pid").GetInt32(),
            Op = root.GetProperty("op").GetString()!,
            Path = Text(root, "path"),
            Path2 = Text(root, "path2"),
            Result = Int64(root, "result"),
            Errno = Text(root, "errno"),
            Status = root.GetProperty("status").GetString()!,
            Checkpoint = Int64(root, "checkpoint"),
            Tid = (int?)Int64(root, "tid"),
            Fd = (int?)Int64(root, "fd"),
            Flags = Int64(root, "flags"),
            Mode = Int64(root, "mode"),
            Offset = Int64(root, "offset"),
            Length = Int64(root, "length"),
            Ppid = (int?)Int64(root, "ppid"),
            Argv = Strings(root, "argv"),
            ExitCode = (int?)Int64(root, "exit_code"),
            Signal = Text(root, "signal"),
            Refused = root.TryGetProperty("refused", out JsonElement r) && r.ValueKind == JsonValueKind.True,
            Fault = root.TryGetProperty("fault", out JsonElement f) && f.ValueKind == JsonValueKind.True,
            Keys = keys,
            Raw = line,
        };
    }

    private static long? Int64(JsonElement root, string name) =>
        root.TryGetProperty(name, out JsonElement e) && e.ValueKind == JsonValueKind.Number ? e.GetInt64() : null;

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out JsonElement e) && e.ValueKind == JsonValueKind.String ? DecodeString(e.GetRawText()) : null;

    private static IReadOnlyList<string>? Strings(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out JsonElement e) || e.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        var list = new List<string>();
        foreach (JsonElement item in e.EnumerateArray())
        {
            list.Add(DecodeString(item.GetRawText()));
        }

        return list;
    }

    /// <summary>Decodes a JSON string literal (with quotes) keeping lone surrogate escapes as chars.</summary>
    public static string DecodeString(string literal)
    {
        ArgumentNullException.ThrowIfNull(literal);
        var sb = new StringBuilder(literal.Length);
        for (int i = 1; i < literal.Length - 1; i++)
        {
            char c = literal[i];
            if (c != '\\')
            {
                sb.Append(c);
                continue;
            }

            char e = literal[++i];
            switch (e)
            {
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'u':
                    sb.Append((char)int.Parse(literal.AsSpan(i + 1, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    i += 4;
                    break;
                default: sb.Append(e); break;
            }
        }

        return sb.ToString();
    }
}
