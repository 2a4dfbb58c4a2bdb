using System.Text.Json;
using System.Text.Unicode;
using Scoord.Interceptors.Syscalls;
using Scoord.Journal;
using Scoord.Journal.Model;

namespace Scoord.Cli.Output;

/// <summary>
/// `scoord log --json`: one JSON object per line, every key on every line (null where it does not
/// apply; docs/cli.md, "JSON Lines"). Paths keep non-UTF-8 bytes as \udcXX escapes, which
/// System.Text.Json cannot write (it replaces lone surrogates with U+FFFD), so those literals come
/// from <see cref="JsonPathText.Literal(ReadOnlySpan{byte})"/> as raw values.
/// </summary>
internal sealed class LogJsonWriter : IEntryWriter
{
    private readonly StdoutWriter _output;
    private readonly Utf8JsonWriter _json;

    public LogJsonWriter(StdoutWriter output)
    {
        _output = output;
        _json = new Utf8JsonWriter(output, JsonOutput.Options);
    }

    public void Write(JournalEntry e)
    {
        Utf8JsonWriter w = _json;
        bool process = e.IsProcessEvent;
        bool fork = process && OpArguments.IsFork(e.Op);
        bool exit = process && e.Op == OpCode.Exit;

        w.WriteStartObject();
        w.WriteNumber("seq", e.Seq);
        w.WriteString("time", TimeText.Rfc3339Utc(e.TimeNs));
        w.WriteNumber("pid", e.Pid);
        w.WriteString("op", e.OpName);
        WritePath("path", e.Path);
        WritePath("path2", e.Path2);

        if (process)
        {
            if (fork)
            {
                w.WriteNumber("result", e.Pid);
            }
            else if (e.Op == OpCode.Exec)
            {
                w.WriteNumber("result", 0);
            }
            else
            {
                w.WriteNull("result");
            }
        }
        else
        {
            WriteNullable("result", e.Result);
        }

        if (e.ErrnoName is { } errno)
        {
            w.WriteString("errno", errno);
        }
        else
        {
            w.WriteNull("errno");
        }

        w.WriteString("status", StatusText(e.Status));
        if (e.Checkpoint is int checkpoint)
        {
            w.WriteNumber("checkpoint", checkpoint);
        }
        else
        {
            w.WriteNull("checkpoint");
        }

        if (e.Op == OpCode.Checkpoint)
        {
            w.WriteNull("tid");
        }
        else
        {
            w.WriteNumber("tid", e.Tid);
        }

        if (process || e.Fd == -1)
        {
            w.WriteNull("fd");
        }
        else
        {
            w.WriteNumber("fd", e.Fd);
        }

        WriteIf("flags", !process && OpArguments.HasFlags(e.Op), (long)e.OpFlags);
        WriteIf("mode", !process && OpArguments.HasMode(e.Op), e.Mode);
        WriteIf("offset", !process && OpArguments.HasOffset(e.Op), e.Offset);
        WriteIf("length", !process && OpArguments.HasLength(e.Op), e.Length);
        WriteIf("ppid", fork, e.Ppid);
        WriteArgv(process ? e.Argv : null);
        WriteIf("exit_code", exit && e.ExitCode >= 0 && e.Signal == 0, e.ExitCode);
        if (exit && e.Signal > 0)
        {
            w.WriteString("signal", SignalNames.Name(e.Signal));
        }
        else
        {
            w.WriteNull("signal");
        }

        w.WriteBoolean("refused", (e.IntentFlags & IntentFlags.Refused) != 0);
        w.WriteBoolean("deleted", (e.IntentFlags & IntentFlags.Deleted) != 0);
        w.WriteBoolean("rollback", (e.IntentFlags & IntentFlags.Rollback) != 0);
        w.WriteBoolean("fault", (e.IntentFlags & IntentFlags.Fault) != 0);
        w.WriteEndObject();
        w.Flush();
        w.Reset();
        _output.WriteLine();
    }

    public void Flush() => _output.Flush();

    public void Dispose() => _json.Dispose();

    internal static string StatusText(EntryStatus status) => status switch
    {
        EntryStatus.Completed => "completed",
        EntryStatus.Failed => "failed",
        _ => "pending",
    };

    private void WritePath(string name, byte[]? bytes)
    {
        if (bytes is null)
        {
            _json.WriteNull(name);
        }
        else if (System.Text.Unicode.Utf8.IsValid(bytes))
        {
            _json.WriteString(name, bytes);
        }
        else
        {
            _json.WritePropertyName(name);
            _json.WriteRawValue(JsonPathText.Literal(bytes), skipInputValidation: true);
        }
    }

    private void WriteArgv(IReadOnlyList<string>? argv)
    {
        if (argv is null)
        {
            _json.WriteNull("argv");
            return;
        }

        _json.WriteStartArray("argv");
        foreach (string arg in argv)
        {
            if (HasSurrogate(arg))
            {
                _json.WriteRawValue(JsonPathText.Literal(arg), skipInputValidation: true);
            }
            else
            {
                _json.WriteStringValue(arg);
            }
        }

        _json.WriteEndArray();
    }

    private void WriteNullable(string name, long? value)
    {
        if (value is long v)
        {
            _json.WriteNumber(name, v);
        }
        else
        {
            _json.WriteNull(name);
        }
    }

    private void WriteIf(string name, bool applies, long value)
    {
        if (applies)
        {
            _json.WriteNumber(name, value);
        }
        else
        {
            _json.WriteNull(name);
        }
    }

    private static bool HasSurrogate(string s)
    {
        foreach (char c in s)
        {
            if (char.IsSurrogate(c))
            {
                return true;
            }
        }

        return false;
    }
}
