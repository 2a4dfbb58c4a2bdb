using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Scoord.Coordinator.Tracing;
using Scoord.Journal;
using Scoord.Journal.Memory;

namespace Scoord.Coordinator.Memory;

/// <summary>
/// The memory half of a checkpoint with `--memory scoord`, run by <see cref="CheckpointBarrier"/> inside the
/// barrier (every thread of the group held, no journaled operation in flight): a scan of every process
/// from /proc that refuses what a restore could not bring back (<see cref="TreeScanner"/>), each process's
/// threads and dispositions (<see cref="ProcessCapture"/>), its pages (<see cref="PageCapture"/>: full the
/// first time, then incremental), and the dirty-page trackers armed again. Page content is written before
/// the checkpoint record; the image's own records join the checkpoint's batch (<see cref="Append"/>).
/// </summary>
internal sealed partial class MemoryCheckpointer(TraceeTable tracees, JournalWriter writer, ILogger logger)
{
    private readonly HashSet<Hash256> _known = [];
    private readonly List<(byte[] Key, byte[] Value)> _records = [];
    private readonly List<ProcessTracking> _dumped = [];
    private int _checkpoint;

    /// <summary>The program `scoord run` started (a restored run: the one the image says); its exit is the run's status.</summary>
    public int MainPid { get; set; }

    /// <summary>
    /// Dumps the group for the checkpoint about to be recorded (named <paramref name="name"/>). Throws
    /// <see cref="MemoryRefusedException"/> (nothing changed) when something cannot be restored, or
    /// <see cref="ScoordException"/> when the dump fails.
    /// </summary>
    public void Dump(string? name)
    {
        if (!string.IsNullOrEmpty(name) && writer.IsCheckpointNameUnusable(name))
        {
            return; // the checkpoint record refuses the name with its own message
        }

        Abandon(); // a dump whose checkpoint was never committed (nor abandoned) leaves nothing to build on
        int checkpointId = writer.NextCheckpointId;
        long started = Stopwatch.GetTimestamp();
        _records.Clear();
        _dumped.Clear();
        _checkpoint = checkpointId;
        TreeScan scan = new TreeScanner().Scan(tracees);
        PageTracker mode = TrackerSelection.Choose();
        var pages = new PageCapture(writer, _known);
        var image = new MemoryImage
        {
            CheckpointId = checkpointId,
            TimeNs = Clock.NowNs(),
            MainPid = tracees.Processes.ContainsKey(MainPid) ? MainPid : 0,
            Objects = scan.Objects,
            Pipes = scan.Pipes,
            SharedMemory = scan.SharedMemory,
        };
        (image.VdsoHash, image.VdsoLayout) = KernelFacts.Vdso;
        try
        {
            foreach (ScannedProcess sp in scan.Processes)
            {
                ProcessTracking tracking = sp.Process.Memory ??= new ProcessTracking();
                _dumped.Add(tracking);
                using var memory = new ProcessMemory(sp.Pid);
                ProcessCapture.Capture(sp, memory, setUpUffd: mode == PageTracker.UffdWp, tracking);
                PageTracker used = mode == PageTracker.UffdWp && tracking.Uffd < 0 ? PageTracker.ContentHash : mode; // no userfaultfd here: hashes
                int baseImage = used != PageTracker.Full ? tracking.LastImage : 0;
                CapturedPages captured = pages.Capture(sp, memory, tracking, used, checkpointId);
                Rearm(sp, tracking, used);
                sp.Image.BaseCheckpoint = baseImage;
                sp.Image.Tracker = captured.Tracker;
                image.Processes.Add(new ProcessRef { Pid = sp.Pid, BaseCheckpoint = baseImage, Tracker = captured.Tracker, ContentPages = captured.ContentPages, ListedPages = captured.ListedPages });
                if (image.XsaveSize == 0 && sp.Image.Threads.Count > 0)
                {
                    (image.Xcr0, image.XsaveSize) = KernelFacts.Xsave(sp.Image.Threads[0].Xsave);
                }

                _records.Add((ImageKeys.Process(checkpointId, sp.Pid), ImageCodec.Encode(sp.Image)));
                AddWindows(sp.Pid, captured);
            }

            foreach (SharedSource source in scan.SharedSources)
            {
                AddWindows(ImageKeys.SharedOwner(source.Id), pages.CaptureShared(source));
            }

            writer.FlushPages();
        }
        catch
        {
            Abandon();
            throw;
        }

        image.NewPageBytes = pages.NewBytes;
        image.DumpNs = (long)Stopwatch.GetElapsedTime(started).TotalNanoseconds;
        long recordBytes = 0;
        foreach ((byte[] k, byte[] v) in _records)
        {
            recordBytes += k.Length + v.Length;
        }

        image.RecordBytes = recordBytes;
        byte[] header = ImageCodec.Encode(image);
        image.RecordBytes += header.Length + ImageKeys.ImageKeySize;
        _records.Add((ImageKeys.Image(checkpointId), ImageCodec.Encode(image)));
        Log.Dumped(logger, checkpointId, scan.Processes.Count, image.DumpNs / 1_000_000.0, pages.NewBytes, image.RecordBytes);
    }

    /// <summary>After the checkpoint record was buffered: the image's records join the same batch.</summary>
    public void Append(CheckpointInfo info)
    {
        if (info.Id != _checkpoint)
        {
            Abandon();
            throw new ScoordException($"the memory image was taken for checkpoint {_checkpoint} but the record got id {info.Id}");
        }

        foreach ((byte[] key, byte[] value) in _records)
        {
            writer.AppendImageRecord(key, value);
        }

        _records.Clear();
    }

    /// <summary>The checkpoint is committed: its image is the base of the next ones.</summary>
    public void Committed()
    {
        foreach (ProcessTracking t in _dumped)
        {
            t.Commit();
        }

        _dumped.Clear();
    }

    /// <summary>The checkpoint failed after the dump: the trackers were armed for an image that does not exist, so the next images are full.</summary>
    public void Abandon()
    {
        foreach (ProcessTracking t in _dumped)
        {
            t.Abandon();
        }

        _dumped.Clear();
        _records.Clear();
    }

    private void AddWindows(int owner, CapturedPages captured)
    {
        foreach (PageMapWindow w in captured.Windows.Values)
        {
            _records.Add((ImageKeys.PageMap(_checkpoint, owner, w.Window), ImageCodec.Encode(w)));
        }
    }

    /// <summary>Starts tracking afresh from this image: write-protect again, or clear the soft-dirty bits.</summary>
    private static void Rearm(ScannedProcess sp, ProcessTracking tracking, PageTracker used)
    {
        if (used == PageTracker.UffdWp && tracking.Uffd >= 0)
        {
            UffdTracker.Protect(tracking, sp.Areas);
        }
        else if (used == PageTracker.SoftDirty)
        {
            TrackerSelection.ClearSoftDirty(sp.Pid);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "memory image of checkpoint {Id}: {Processes} processes in {Ms:0.0} ms, {NewBytes} new page bytes, {RecordBytes} record bytes")]
        public static partial void Dumped(ILogger logger, int id, int processes, double ms, long newBytes, long recordBytes);
    }
}
