using System.Text.Json;

namespace Scoord.Coordinator.Control;

/// <summary>
/// The coordinator's application group: the program `scoord run` started plus every program a later
/// `scoord run` on the same journal joined to it. All are traced by the one tracer, journaled into
/// the one journal, and stopped together by every checkpoint.
/// </summary>
public interface IApplicationGroup
{
    /// <summary>
    /// Starts <paramref name="request"/>'s program traced, with <paramref name="stdio"/> as its fds 0-2
    /// (the caller keeps and closes its copies). Blocks until it runs. Throws
    /// <see cref="Scoord.Journal.ScoordException"/> (one line) when it cannot, e.g. the group has ended.
    /// </summary>
    JoinedApplication Join(JoinRequest request, int[] stdio);

    /// <summary>The group's applications and processes as a JSON object (see docs/cli.md, `scoord status`).</summary>
    string StatusJson();
}

/// <summary>A program that joined the group: its application id, pid (and process group), and its exit status to come.</summary>
public sealed record JoinedApplication(int Id, int Pid, Task<int> Exit);

/// <summary>
/// What a joining `scoord run` asks to run: the resolved program, argv, cwd and environment, and the signals
/// the joining `run` has ignored (bit N-1 for signal N, as SigIgn of /proc/PID/status), which the program
/// starts with ignored as if the joining `run` had started it; null: the coordinator's dispositions.
/// </summary>
public sealed record JoinRequest(string Program, IReadOnlyList<string> Argv, string Cwd, IReadOnlyDictionary<string, string> Environment, ulong? IgnoredSignals = null)
{
    /// <summary>Error text of a join refused because the group's last process has exited (the coordinator is finishing).</summary>
    public const string GroupEndedMessage = "the application group has ended";

    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("program", Program);
            w.WriteStartArray("argv");
            foreach (string a in Argv)
            {
                w.WriteStringValue(a);
            }

            w.WriteEndArray();
            w.WriteString("cwd", Cwd);
            w.WriteStartObject("env");
            foreach (KeyValuePair<string, string> kv in Environment)
            {
                w.WriteString(kv.Key, kv.Value);
            }

            w.WriteEndObject();
            if (IgnoredSignals is { } ignored)
            {
                w.WriteNumber("sigign", ignored);
            }

            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Parses a Join payload; null with <paramref name="error"/> set when it is not one.</summary>
    public static JoinRequest? TryParse(string json, out string? error)
    {
        error = null;
        try
        {
            using JsonDocument doc = JsonDocument.Parse(json);
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("program", out JsonElement program) || program.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("argv", out JsonElement argv) || argv.ValueKind != JsonValueKind.Array
                || !root.TryGetProperty("cwd", out JsonElement cwd) || cwd.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("env", out JsonElement env) || env.ValueKind != JsonValueKind.Object)
            {
                error = "join request needs program, argv, cwd and env";
                return null;
            }

            var args = new List<string>();
            foreach (JsonElement a in argv.EnumerateArray())
            {
                if (a.ValueKind != JsonValueKind.String)
                {
                    error = "argv holds a non-string";
                    return null;
                }

                args.Add(a.GetString()!);
            }

            var environment = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (JsonProperty kv in env.EnumerateObject())
            {
                if (kv.Value.ValueKind != JsonValueKind.String || kv.Name.Length == 0 || kv.Name.Contains('=', StringComparison.Ordinal))
                {
                    error = "env holds a bad entry";
                    return null;
                }

                environment[kv.Name] = kv.Value.GetString()!;
            }

            string p = program.GetString()!;
            string c = cwd.GetString()!;
            if (args.Count == 0 || !p.StartsWith('/') || !c.StartsWith('/') || p.Contains('\0', StringComparison.Ordinal) || c.Contains('\0', StringComparison.Ordinal)
                || args.Exists(a => a.Contains('\0', StringComparison.Ordinal)) || environment.Any(kv => kv.Key.Contains('\0', StringComparison.Ordinal) || kv.Value.Contains('\0', StringComparison.Ordinal)))
            {
                error = "join request: program and cwd must be absolute, argv non-empty, no NUL anywhere";
                return null;
            }

            ulong? sigign = null;
            if (root.TryGetProperty("sigign", out JsonElement ign))
            {
                if (ign.ValueKind != JsonValueKind.Number || !ign.TryGetUInt64(out ulong mask))
                {
                    error = "join request: sigign must be an unsigned number";
                    return null;
                }

                sigign = mask;
            }

            return new JoinRequest(p, args, c, environment, sigign);
        }
        catch (JsonException e)
        {
            error = "join request is not JSON: " + e.Message.ReplaceLineEndings(" ");
            return null;
        }
    }
}
