using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Scoord.Cli.Output;
using Scoord.Journal;
using Scoord.Journal.Memory;

namespace Scoord.Cli.Commands;

/// <summary>
/// `scoord image CKPT [--json]`: the memory image of a checkpoint (--memory scoord), decoded: its processes,
/// how each was dumped (full, or incremental on which base and with which tracker), its size, how long the
/// barrier took. The decoder tool of the image format (docs/journal-format.md, "Memory images").
/// </summary>
internal sealed class ImageCommand
{
    private readonly CliApplication _app;
    private readonly Argument<string> _checkpoint = new("CKPT") { Description = "Checkpoint id (all digits) or name" };
    private readonly Option<bool> _json = new("--json") { Description = "One JSON object" };

    public ImageCommand(CliApplication app)
    {
        _app = app;
        Command = new Command("image", "Show the memory image of a checkpoint (--memory scoord)") { _checkpoint, _json };
        Command.SetAction(parseResult => _app.Execute(parseResult, "image", context => Execute(parseResult, context)));
    }

    public Command Command { get; }

    private int Execute(ParseResult parseResult, CommandContext context)
    {
        using JournalStore store = JournalStore.OpenReadOnly(context.JournalDirectory);
        CheckpointInfo ckpt = store.Reader.FindCheckpoint(parseResult.GetValue(_checkpoint)!);
        var images = new MemoryImageStore(store);
        MemoryImage image = images.ReadImage(ckpt.Id)
            ?? throw new ScoordException($"checkpoint {ckpt.Id} ({ckpt.Name}) has no memory image (it was not taken by a run with --memory scoord while the app ran)");
        var processes = new List<ProcessImage>();
        foreach (ProcessRef p in image.Processes)
        {
            processes.Add(images.ReadProcess(ckpt.Id, p.Pid));
        }

        CultureInfo c = CultureInfo.InvariantCulture;
        if (!parseResult.GetValue(_json))
        {
            context.Stdout.WriteLine(string.Format(c, "checkpoint {0} ({1}): {2} process(es), dumped in {3:0.0} ms; new page bytes {4}, record bytes {5}",
                ckpt.Id, ckpt.Name, image.Processes.Count, image.DumpNs / 1e6, SizeText.Human(image.NewPageBytes), SizeText.Human(image.RecordBytes)));
            for (int i = 0; i < processes.Count; i++)
            {
                ProcessImage p = processes[i];
                ProcessRef r = image.Processes[i];
                context.Stdout.WriteLine(string.Format(c, "  pid {0} ({1}) parent {2}: {3}, {4} thread(s), {5} mapping(s), {6} fd(s); {7} content pages, {8} stored here",
                    p.Pid, System.Text.Encoding.UTF8.GetString(p.Exe.Path), p.Ppid == 0 ? "scoord" : p.Ppid.ToString(c),
                    r.BaseCheckpoint == 0 ? PageTrackers.Name(r.Tracker) : string.Format(c, "{0} since checkpoint {1}", PageTrackers.Name(r.Tracker), r.BaseCheckpoint),
                    p.Threads.Count, p.Vmas.Count, p.Fds.Count, r.ContentPages, r.ListedPages));
            }

            foreach (PipeImage pipe in image.Pipes)
            {
                context.Stdout.WriteLine(string.Format(c, "  pipe {0}{1}: {2} unread byte(s), capacity {3}",
                    pipe.Id, pipe.FifoPath is null ? "" : " (FIFO " + System.Text.Encoding.UTF8.GetString(pipe.FifoPath) + ")", pipe.Unread.Length, pipe.Capacity));
            }

            return ExitCodes.Success;
        }

        using (var w = new Utf8JsonWriter(context.Stdout, JsonOutput.Options))
        {
            w.WriteStartObject();
            w.WriteNumber("checkpoint", ckpt.Id);
            w.WriteString("name", ckpt.Name);
            w.WriteNumber("main_pid", image.MainPid);
            w.WriteNumber("dump_ns", image.DumpNs);
            w.WriteNumber("new_page_bytes", image.NewPageBytes);
            w.WriteNumber("record_bytes", image.RecordBytes);
            w.WriteNumber("image_bytes", image.NewPageBytes + image.RecordBytes);
            w.WriteStartArray("processes");
            for (int i = 0; i < processes.Count; i++)
            {
                ProcessImage p = processes[i];
                ProcessRef r = image.Processes[i];
                w.WriteStartObject();
                w.WriteNumber("pid", p.Pid);
                w.WriteNumber("ppid", p.Ppid);
                w.WriteString("exe", System.Text.Encoding.UTF8.GetString(p.Exe.Path));
                w.WriteString("tracker", PageTrackers.Name(r.Tracker));
                w.WriteNumber("base", r.BaseCheckpoint);
                w.WriteNumber("content_pages", r.ContentPages);
                w.WriteNumber("stored_pages", r.ListedPages);
                w.WriteNumber("threads", p.Threads.Count);
                w.WriteNumber("mappings", p.Vmas.Count);
                w.WriteNumber("fds", p.Fds.Count);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("pipes");
            foreach (PipeImage pipe in image.Pipes)
            {
                w.WriteStartObject();
                w.WriteNumber("id", pipe.Id);
                w.WriteNumber("capacity", pipe.Capacity);
                w.WriteNumber("unread_bytes", pipe.Unread.Length);
                if (pipe.FifoPath is not null)
                {
                    w.WriteString("fifo", System.Text.Encoding.UTF8.GetString(pipe.FifoPath));
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        context.Stdout.WriteLine();
        return ExitCodes.Success;
    }
}
