using System.Globalization;
using System.Text;
using Scoord.Interceptors.Syscalls;
using Scoord.Journal;
using Scoord.Journal.Model;

namespace Scoord.Cli.Output;

/// <summary>
/// `scoord log` as a table: SEQ, TIME (local, µs), PID, OP, RESULT, then the path(s) or the process
/// event. Columns have fixed widths (the output streams; it cannot measure millions of rows first);
/// a longer value pushes the row right rather than being cut.
/// </summary>
internal sealed class LogTableWriter : IEntryWriter
{
    private readonly StdoutWriter _output;
    private readonly StringBuilder _line = new(256);
    private bool _headerWritten;

    public LogTableWriter(StdoutWriter output)
    {
        _output = output;
    }

    public void Write(JournalEntry e)
    {
        if (!_headerWritten)
        {
            _output.WriteLine(string.Format(CultureInfo.InvariantCulture, "{0,8} {1,-21}  {2,-7} {3,-15} {4,-10}  {5}", "SEQ", "TIME", "PID", "OP", "RESULT", "PATH"));
            _headerWritten = true;
        }

        StringBuilder b = _line.Clear();
        b.Append(CultureInfo.InvariantCulture, $"{e.Seq,8} {TimeText.LocalTimeOfDay(e.TimeNs),-21}  {e.Pid,-7} {e.OpName,-15} {ResultText(e),-10}  ");
        if (e.IsProcessEvent)
        {
            AppendProcessEvent(b, e);
        }
        else if (e.Op == OpCode.Checkpoint)
        {
            b.Append("checkpoint ").Append((e.CheckpointId ?? 0).ToString(CultureInfo.InvariantCulture)).Append(' ');
            AppendVisible(b, e.Path2Text ?? string.Empty);
        }
        else if (e.Op == OpCode.Rollback)
        {
            // scoord's own marker: the checkpoint rolled back to (its seq in Length, its id in Mode).
            b.Append("to checkpoint ").Append(e.Mode.ToString(CultureInfo.InvariantCulture)).Append(' ');
            AppendVisible(b, e.Path2Text ?? string.Empty);
        }
        else if ((e.IntentFlags & IntentFlags.Fault) != 0)
        {
            // scoord failed while handling the op and failed it instead of crashing the program: what failed.
            b.Append("[scoord fault] ");
            AppendVisible(b, e.Path2Text ?? string.Empty);
        }
        else
        {
            AppendPath(b, e.Path);
            if (e.Path2 is not null)
            {
                b.Append(" -> ");
                AppendPath(b, e.Path2);
            }

            if ((e.IntentFlags & IntentFlags.Deleted) != 0)
            {
                b.Append("  [deleted]"); // written through an fd whose name was unlinked: the path is the name it had
            }

            if ((e.IntentFlags & IntentFlags.Rollback) != 0)
            {
                b.Append("  [rollback]");
            }
        }

        _output.WriteLine(b.ToString());
    }

    public void Flush() => _output.Flush();

    public void Dispose()
    {
    }

    internal static string ResultText(JournalEntry e)
    {
        if (e.IsProcessEvent)
        {
            return OpArguments.IsFork(e.Op) ? e.Pid.ToString(CultureInfo.InvariantCulture)
                : e.Op == OpCode.Exec ? "0"
                : string.Empty;
        }

        if ((e.IntentFlags & IntentFlags.Refused) != 0)
        {
            return "refused:" + (e.ErrnoName ?? "?");
        }

        return e.Status switch
        {
            EntryStatus.Completed => (e.Result ?? 0).ToString(CultureInfo.InvariantCulture),
            EntryStatus.Failed => e.ErrnoName ?? "failed",
            _ => "pending",
        };
    }

    private static void AppendProcessEvent(StringBuilder b, JournalEntry e)
    {
        switch (e.Op)
        {
            case OpCode.Exec:
                AppendPath(b, e.Path);
                if (e.Argv is { Count: > 0 } argv)
                {
                    b.Append(' ');
                    for (int i = 0; i < argv.Count; i++)
                    {
                        b.Append(' ');
                        AppendShellWord(b, argv[i]);
                    }
                }

                break;
            case OpCode.Exit:
                b.Append("exit ").Append(e.Pid.ToString(CultureInfo.InvariantCulture));
                if (e.Signal > 0)
                {
                    b.Append(" killed by ").Append(SignalNames.Name(e.Signal));
                }
                else
                {
                    b.Append(" status ").Append(e.ExitCode.ToString(CultureInfo.InvariantCulture));
                }

                break;
            default:
                b.Append(e.OpName).Append(' ')
                    .Append(e.Ppid.ToString(CultureInfo.InvariantCulture)).Append(" -> ")
                    .Append(e.Pid.ToString(CultureInfo.InvariantCulture));
                break;
        }
    }

    private static void AppendPath(StringBuilder b, byte[]? path)
    {
        if (path is null)
        {
            b.Append('-');
            return;
        }

        AppendVisible(b, PathText.ToText(path));
    }

    /// <summary>Non-UTF-8 bytes (surrogate escapes) as \xNN, control characters as \n, \t, \xNN.</summary>
    private static void AppendVisible(StringBuilder b, string text)
    {
        foreach (char c in text)
        {
            if (c >= '\uDC80' && c <= '\uDCFF')
            {
                b.Append(CultureInfo.InvariantCulture, $"\\x{c - 0xDC00:x2}");
            }
            else if (c == '\n')
            {
                b.Append("\\n");
            }
            else if (c == '\t')
            {
                b.Append("\\t");
            }
            else if (c < 0x20 || c == '\u007F')
            {
                b.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
            }
            else if (c == '\\')
            {
                b.Append("\\\\");
            }
            else
            {
                b.Append(c);
            }
        }
    }

    /// <summary>An argument as a shell would need it: bare if safe, else in single quotes.</summary>
    private static void AppendShellWord(StringBuilder b, string word)
    {
        bool safe = word.Length > 0;
        foreach (char c in word)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/' or '=' or ':' or ',' or '+' or '@' or '%'))
            {
                safe = false;
                break;
            }
        }

        if (safe)
        {
            b.Append(word);
            return;
        }

        var visible = new StringBuilder(word.Length + 8);
        AppendVisible(visible, word);
        b.Append('\'').Append(visible.Replace("'", "'\\''")).Append('\'');
    }
}
