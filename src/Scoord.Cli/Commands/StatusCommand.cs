using System.Globalization;
using System.Text.Json;
using Scoord.Cli.Output;
using Scoord.Journal;

namespace Scoord.Cli.Commands;

/// <summary>`scoord status`: where the journal is, whether a coordinator runs, what the journal holds.</summary>
internal sealed class StatusCommand(CliApplication app)
    : ReportCommand(app, "status", "Show the journal's state", "One JSON object instead of text")
{
    protected override int Report(CommandContext context, bool json)
    {
        string dir = context.JournalDirectory;
        JournalStats stats;
        using (JournalStore store = JournalStore.OpenReadOnly(dir))
        {
            stats = store.Reader.GetStats();
        }

        bool running = JournalStore.IsCoordinatorRunning(dir, out int pid);
        // The application group (applications and live processes) comes from the coordinator itself.
        using JsonDocument? group = running && Scoord.Coordinator.Control.JoinClient.Status(dir, TimeSpan.FromSeconds(5)) is { } groupJson
            ? JsonDocument.Parse(groupJson)
            : null;
        if (json)
        {
            WriteJson(context.Stdout, dir, running, pid, stats, group);
        }
        else
        {
            WriteText(context.Stdout, dir, running, pid, stats);
            if (group is not null)
            {
                WriteGroupText(context.Stdout, group.RootElement);
            }
        }

        return ExitCodes.Success;
    }

    private static void WriteGroupText(StdoutWriter o, JsonElement group)
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        JsonElement apps = group.GetProperty("applications");
        JsonElement processes = group.GetProperty("processes");
        o.WriteLine(string.Create(c, $"applications {apps.GetArrayLength()}"));
        foreach (JsonElement app in apps.EnumerateArray())
        {
            string state = app.GetProperty("state").GetString() == "exited"
                ? string.Create(c, $"exited {app.GetProperty("exit_status").GetInt32()}")
                : "running";
            string argv = string.Join(' ', app.GetProperty("argv").EnumerateArray().Select(a => a.GetString()));
            o.WriteLine(string.Create(c, $"  app {app.GetProperty("id").GetInt32()}  pid {app.GetProperty("pid").GetInt32()}  {state}  {argv}"));
        }

        o.WriteLine(string.Create(c, $"live         {processes.GetArrayLength()} process(es)"));
        foreach (JsonElement p in processes.EnumerateArray())
        {
            int ppid = p.GetProperty("ppid").GetInt32();
            int procPid = p.GetProperty("pid").GetInt32();
            o.WriteLine(string.Create(c, $"  pid {procPid}  ppid {ppid}  app {p.GetProperty("app").GetInt32()}  threads {p.GetProperty("threads").GetInt32()}  {Comm(procPid)}"));
        }
    }

    private static string Comm(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "?";
        }
    }

    private static void WriteText(StdoutWriter o, string dir, bool running, int pid, JournalStats s)
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        o.WriteLine("journal      " + dir);
        o.WriteLine("coordinator  " + (running ? (pid > 0 ? string.Create(c, $"running (pid {pid})") : "running") : "not running"));
        o.WriteLine(string.Create(c, $"operations   {s.Operations} ({s.Completed} completed, {s.Failed} failed, {s.Pending} pending)"));
        if (s.Faults > 0)
        {
            // Ops scoord failed (EIO/ENOSYS) because it failed itself while handling them: `scoord log` shows each.
            o.WriteLine(string.Create(c, $"faults       {s.Faults} (operations failed by a fault of scoord's; see scoord log)"));
        }

        o.WriteLine(string.Create(c, $"processes    {s.Processes} ({s.ProcessEvents} process events)"));
        o.WriteLine(string.Create(c, $"last seq     {s.LastSeq}"));
        o.WriteLine("first        " + (s.FirstTime is { } f ? LocalText(f) : "-"));
        o.WriteLine("last         " + (s.LastTime is { } l ? LocalText(l) : "-"));
        o.WriteLine(string.Create(c, $"size         {SizeText.Human(s.BytesOnDisk)} ({s.BytesOnDisk} bytes)"));
    }

    private static void WriteJson(StdoutWriter o, string dir, bool running, int pid, JournalStats s, JsonDocument? group)
    {
        using (var w = new Utf8JsonWriter(o, JsonOutput.Options))
        {
            w.WriteStartObject();
            w.WriteString("journal", dir);
            w.WriteBoolean("coordinator_running", running);
            if (running && pid > 0)
            {
                w.WriteNumber("coordinator_pid", pid);
            }
            else
            {
                w.WriteNull("coordinator_pid");
            }

            w.WriteNumber("operations", s.Operations);
            w.WriteNumber("completed", s.Completed);
            w.WriteNumber("failed", s.Failed);
            w.WriteNumber("pending", s.Pending);
            w.WriteNumber("faults", s.Faults);
            w.WriteNumber("processes", s.Processes);
            w.WriteNumber("last_seq", s.LastSeq);
            WriteTime(w, "first_time", s.FirstTime);
            WriteTime(w, "last_time", s.LastTime);
            w.WriteNumber("size_bytes", s.BytesOnDisk);
            if (group is not null)
            {
                w.WritePropertyName("applications");
                group.RootElement.GetProperty("applications").WriteTo(w);
                w.WritePropertyName("live_processes");
                group.RootElement.GetProperty("processes").WriteTo(w);
            }

            w.WriteEndObject();
        }

        o.WriteLine();
    }

    private static void WriteTime(Utf8JsonWriter w, string name, DateTimeOffset? time)
    {
        if (time is { } t)
        {
            w.WriteString(name, TimeText.Rfc3339Utc(t));
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static string LocalText(DateTimeOffset t) =>
        TimeText.LocalDateTime(t);
}
