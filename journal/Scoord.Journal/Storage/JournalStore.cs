using System.Buffers.Binary;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Scoord.Journal.Rocks;
using Scoord.Journal.Codec;
using Scoord.Journal.Model;

namespace Scoord.Journal;

/// <summary>
/// A journal directory opened for writing (by the one coordinator, under DIR/scoord.lock) or for
/// reading (by anyone, whether or not a coordinator runs). See docs/journal-format.md.
/// </summary>
public sealed class JournalStore : IDisposable
{
    private readonly RocksDb _db;
    private readonly DbOptions _options;
    private readonly ReadOptions _readOptions;
    private readonly JournalLock? _lock;
    private readonly JournalWriter? _writer;
    private readonly string? _secondaryDir;
    private readonly ILogger _logger;
    private bool _disposed;

    private JournalStore(string dir, RocksDb db, DbOptions options, JournalLock? journalLock, string? secondaryDir, ILogger logger)
    {
        Directory = dir;
        _db = db;
        _options = options;
        _lock = journalLock;
        _secondaryDir = secondaryDir;
        _logger = logger;
        _readOptions = new ReadOptions().SetVerifyChecksums(true);
        Sequences = new SequenceAllocator(ReadLastSeq(db.GetColumnFamily(JournalLayout.OpsFamily)));
        if (journalLock is not null)
        {
            _writer = new JournalWriter(
                db,
                db.GetColumnFamily(JournalLayout.OpsFamily),
                db.GetColumnFamily(JournalLayout.ResultsFamily),
                db.GetColumnFamily(JournalLayout.ProcsFamily),
                db.GetColumnFamily(JournalLayout.UndoFamily),
                Sequences,
                dir);
        }

        Reader = new JournalReader(this);
    }

    /// <summary>The journal directory (absolute).</summary>
    public string Directory { get; }

    /// <summary>The writer; only a store from <see cref="OpenForWriting"/> has one.</summary>
    public JournalWriter Writer
    {
        get
        {
            if (_writer is null)
            {
                ThrowHelper.ThrowNotWritable();
            }

            return _writer;
        }
    }

    /// <summary>Reads the journal.</summary>
    public JournalReader Reader { get; }

    /// <summary>
    /// A second writer on this store, with a batch of its own (the fast path's drain commits from its
    /// own thread). It shares the sequence allocator. Only a store from <see cref="OpenForWriting"/> has one.
    /// </summary>
    public JournalWriter CreateWriter()
    {
        _ = Writer; // throws for a read-only store
        return new JournalWriter(
            _db,
            _db.GetColumnFamily(JournalLayout.OpsFamily),
            _db.GetColumnFamily(JournalLayout.ResultsFamily),
            _db.GetColumnFamily(JournalLayout.ProcsFamily),
            _db.GetColumnFamily(JournalLayout.UndoFamily),
            Sequences,
            Directory);
    }

    /// <summary>Where sequence numbers come from (shared by every producer writing into this store).</summary>
    public SequenceAllocator Sequences { get; }

    /// <summary>True when this store reads through a secondary instance (a coordinator holds the journal).</summary>
    public bool IsSecondary => _secondaryDir is not null;

    internal RocksDb Db => _db;

    internal ReadOptions ReadOptions => _readOptions;

    /// <summary>
    /// Opens DIR for the coordinator: creates it if missing, takes DIR/scoord.lock (or throws
    /// "journal DIR is in use by scoord (pid N)"), opens RocksDB with WAL recovery (a torn tail is
    /// dropped, corruption inside is an error). Intents without a completion stay as they are and
    /// read back as pending.
    /// </summary>
    public static JournalStore OpenForWriting(string dir, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(dir);
        logger ??= NullLogger.Instance;
        string full = Path.GetFullPath(dir);
        JournalDirectory.State state = JournalDirectory.Inspect(full);
        if (state == JournalDirectory.State.Missing)
        {
            JournalDirectory.Create(full);
        }

        JournalDirectory.RestrictAccess(full);
        JournalDirectory.KeepOutOfVersionControl(full);
        JournalLock journalLock = JournalLock.Acquire(full);
        DbOptions? options = null;
        RocksDb? db = null;
        try
        {
            // Inspect again under the lock: another coordinator may have created or changed it meanwhile.
            state = JournalDirectory.Inspect(full);
            options = CreateOptions(createIfMissing: state != JournalDirectory.State.Journal);
            options.SetCreateMissingColumnFamilies(true); // a journal older than the memory family gets it now
            // The WAL replayed into memtables stays where it is, without being written out as level-0 tables
            // on this thread first: after a run that kept 100 MiB of files, a rollback spent a tenth of its
            // time compressing what it had just read (docs/performance.md, "rollback"). Each open starts a
            // new WAL file and the old ones live until every family is flushed past them, so once a few have
            // gathered this open flushes them as RocksDB does by default: no open replays more than a few.
            options.SetAvoidFlushDuringRecovery(WalFiles(full) < KeepWalFiles);
            db = OpenRocksDb(full, () => RocksDb.Open(options, DbPath(full), Families()), dyingHolder: true);
            EnsureMeta(full, db, logger);
            var store = new JournalStore(full, db, options, journalLock, secondaryDir: null, logger);
            // A fast-path ring left by a run that died: what it holds was let through, so it goes into the journal first.
            Ring.RingRecovery.Recover(store, logger);
            logger.Opened(full, store.Sequences.Last);
            return store;
        }
        catch
        {
            db?.Dispose();
            journalLock.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens DIR for writing as <see cref="OpenForWriting"/> does, but only a journal that exists: a missing
    /// one is the readers' "no journal at DIR", not a new journal (rollback opens once, for writing).
    /// </summary>
    public static JournalStore OpenExistingForWriting(string dir, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(dir);
        string full = Path.GetFullPath(dir);
        if (JournalDirectory.Inspect(full) != JournalDirectory.State.Journal)
        {
            ThrowHelper.ThrowNoJournal(full);
        }

        return OpenForWriting(full, logger);
    }

    /// <summary>
    /// Opens DIR for reading. Works whether or not a coordinator runs: while one holds the lock this
    /// is a RocksDB secondary instance (with a private temporary directory removed on Dispose; call
    /// <see cref="CatchUp"/> to see newer records), otherwise a read-only instance.
    /// </summary>
    public static JournalStore OpenReadOnly(string dir) => OpenReadOnly(dir, checkMeta: true);

    /// <summary>For `scoord fsck`: <paramref name="checkMeta"/> false opens a journal whose header is damaged, so that the rest can be checked.</summary>
    internal static JournalStore OpenReadOnly(string dir, bool checkMeta)
    {
        ArgumentException.ThrowIfNullOrEmpty(dir);
        string full = Path.GetFullPath(dir);
        if (JournalDirectory.Inspect(full) != JournalDirectory.State.Journal)
        {
            ThrowHelper.ThrowNoJournal(full);
        }

        if (checkMeta && Ring.RingFile.Exists(full) && !JournalLock.IsHeld(full, out _))
        {
            // A fast-path ring of a run that did not end: readers see what it holds (the open for writing applies it).
            try
            {
                OpenForWriting(full).Dispose();
            }
            catch (Exception e) when (e is ScoordException or IOException or UnauthorizedAccessException)
            {
                // taken meanwhile by a coordinator (which recovers it), or not writable by this user: read what is there
            }
        }

        DbOptions options = CreateOptions(createIfMissing: false);
        string? secondary = null;
        RocksDb db;
        if (JournalLock.IsHeld(full, out _))
        {
            secondary = Path.Combine(Path.GetTempPath(), $"scoord-secondary-{Environment.ProcessId}-{Guid.NewGuid():N}");
            System.IO.Directory.CreateDirectory(secondary);
            options.SetMaxOpenFiles(-1); // required for a secondary instance
            try
            {
                db = OpenRocksDb(full, () => RocksDb.OpenAsSecondary(options, DbPath(full), secondary, ExistingFamilies(options, full)));
            }
            catch
            {
                TryDeleteDirectory(secondary);
                throw;
            }
        }
        else
        {
            db = OpenRocksDb(full, () => RocksDb.OpenReadOnly(options, DbPath(full), ExistingFamilies(options, full), false));
        }

        try
        {
            if (checkMeta)
            {
                CheckMeta(full, db);
            }

            return new JournalStore(full, db, options, journalLock: null, secondary, NullLogger.Instance);
        }
        catch
        {
            db.Dispose();
            if (secondary is not null)
            {
                TryDeleteDirectory(secondary);
            }

            throw;
        }
    }

    /// <summary>True if a coordinator holds the journal at <paramref name="dir"/>; <paramref name="pid"/> is its pid (0 if unknown).</summary>
    public static bool IsCoordinatorRunning(string dir, out int pid)
    {
        ArgumentException.ThrowIfNullOrEmpty(dir);
        return JournalLock.IsHeld(Path.GetFullPath(dir), out pid);
    }

    /// <summary>
    /// Waits (at most <paramref name="timeout"/>) until the coordinator <paramref name="pid"/>, which has
    /// stopped answering, has let go of the journal: DIR/scoord.lock is free and every thread of the
    /// process has exited. A process killed with SIGKILL closes its files one by one while it exits, so a
    /// client can see its control connection closed, or scoord.lock free, while RocksDB's own lock is
    /// still held; only once no thread is left (zombie or reaped) are all of them released.
    /// True as well if another coordinator holds the journal meanwhile (the caller asks that one);
    /// false if <paramref name="pid"/> still holds on at the deadline.
    /// </summary>
    public static bool WaitForCoordinatorExit(string dir, int pid, TimeSpan timeout)
    {
        ArgumentException.ThrowIfNullOrEmpty(dir);
        string full = Path.GetFullPath(dir);
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (true)
        {
            bool held = JournalLock.IsHeld(full, out int holder);
            if (!held && (pid <= 0 || ProcessExited(pid)))
            {
                return true;
            }

            if (held && pid > 0 && holder > 0 && holder != pid)
            {
                return true; // another coordinator took over: it is the one to ask now
            }

            if (Environment.TickCount64 >= deadline)
            {
                return false;
            }

            Thread.Sleep(10);
        }
    }

    /// <summary>True if no thread of process <paramref name="pid"/> still runs (it is a zombie or gone).</summary>
    private static bool ProcessExited(int pid)
    {
        string tasks = "/proc/" + pid.ToString(System.Globalization.CultureInfo.InvariantCulture) + "/task";
        try
        {
            foreach (string task in System.IO.Directory.EnumerateDirectories(tasks))
            {
                string stat;
                try
                {
                    stat = File.ReadAllText(Path.Combine(task, "stat"));
                }
                catch (IOException)
                {
                    continue; // the thread went while we looked
                }

                // "tid (comm) S ...": the state follows the last ')', comm may hold anything.
                int close = stat.LastIndexOf(')');
                char state = close >= 0 && close + 2 < stat.Length ? stat[close + 2] : 'X';
                if (state is not ('Z' or 'X' or 'x'))
                {
                    return false;
                }
            }

            return true;
        }
        catch (DirectoryNotFoundException)
        {
            return true;
        }
        catch (UnauthorizedAccessException)
        {
            return true; // not ours to see; scoord.lock being free has to do
        }
    }

    /// <summary>For a secondary (read-only while a coordinator runs): catch up with the coordinator's writes. No-op otherwise.</summary>
    public void CatchUp()
    {
        if (_secondaryDir is null)
        {
            return;
        }

        try
        {
            _db.TryCatchUpWithPrimary();
        }
        catch (RocksDbException e)
        {
            ThrowHelper.ThrowRocksDb(Directory, "catching up with the coordinator", e);
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_writer is not null)
        {
            _logger.Closed(Directory, _writer.BytesWritten);
            _writer.Dispose();
        }

        _db.Dispose();
        // DbOptions/ReadOptions free their native side in their finalizers; keep them alive until the db is closed.
        GC.KeepAlive(_options);
        GC.KeepAlive(_readOptions);
        _lock?.Dispose();
        if (_secondaryDir is not null)
        {
            TryDeleteDirectory(_secondaryDir);
        }
    }

    internal ColumnFamilyHandle Family(string name) => _db.GetColumnFamily(name);

    /// <summary>A family that a journal written by an older scoord may lack (the memory family), or null.</summary>
    internal ColumnFamilyHandle? OptionalFamily(string name) => _db.TryGetColumnFamily(name, out ColumnFamilyHandle handle) ? handle : null;

    private static string DbPath(string dir) => Path.Combine(dir, JournalLayout.DbDirectoryName);

    private static DbOptions CreateOptions(bool createIfMissing)
    {
        return new DbOptions()
            .SetCreateIfMissing(createIfMissing)
            .SetCreateMissingColumnFamilies(createIfMissing)
            .SetParanoidChecks(true)
            // Only a torn tail (the last, partly written WAL record after a crash) is dropped;
            // corruption anywhere else fails the open.
            .SetWalRecoveryMode(Recovery.TolerateCorruptedTailRecords)
            .SetKeepLogFileNum(4)
            // No preallocation of the WAL (RocksDB reserves write_buffer_size * 1.1, about 70 MiB, with
            // fallocate): on tmpfs that is 70 MiB of memory zeroed before the first record, a third of a
            // `scoord run -- true`; appends to the journal's WAL are small and sequential anyway.
            .SetAllowFallocate(false);
    }

    /// <summary>WAL files an open for writing leaves unflushed (see the open).</summary>
    private const int KeepWalFiles = 4;

    private static int WalFiles(string dir)
    {
        try
        {
            return System.IO.Directory.EnumerateFiles(DbPath(dir), "*.log").Count();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private static ColumnFamilies Families()
    {
        var families = new ColumnFamilies();
        foreach (string name in JournalLayout.Families)
        {
            if (name != JournalLayout.DefaultFamily)
            {
                families.Add(name, new ColumnFamilyOptions());
            }
        }

        return families;
    }

    /// <summary>For readers: the families of <see cref="Families"/> the database has (a journal older than the memory family lacks it).</summary>
    private static ColumnFamilies ExistingFamilies(DbOptions options, string dir)
    {
        HashSet<string> present;
        try
        {
            present = new HashSet<string>(RocksDb.ListColumnFamilies(options, DbPath(dir)), StringComparer.Ordinal);
        }
        catch (RocksDbException)
        {
            return Families(); // the open reports what is wrong
        }

        var families = new ColumnFamilies();
        foreach (string name in JournalLayout.Families)
        {
            if (name != JournalLayout.DefaultFamily && (name != JournalLayout.MemoryFamily || present.Contains(name)))
            {
                families.Add(name, new ColumnFamilyOptions());
            }
        }

        return families;
    }

    /// <summary>
    /// Opens the database. For writing (under DIR/scoord.lock) <paramref name="dyingHolder"/> is true: a
    /// coordinator killed a moment ago may have released scoord.lock before RocksDB's LOCK (its files close
    /// one by one as it exits), so that one is retried for a short while rather than reported.
    /// </summary>
    private static RocksDb OpenRocksDb(string dir, Func<RocksDb> open, bool dyingHolder = false)
    {
        long deadline = Environment.TickCount64 + 5_000;
        while (true)
        {
            try
            {
                return open();
            }
            catch (RocksDbException e) when (dyingHolder && e.Message.Contains("While lock file", StringComparison.Ordinal)
                                             && Environment.TickCount64 < deadline)
            {
                Thread.Sleep(20);
            }
            catch (RocksDbException e)
            {
                ThrowHelper.ThrowRocksDb(dir, "opening the database", e);
                return null;
            }
        }
    }

    /// <summary>New journal: write format and META. Existing: check the format.</summary>
    private static void EnsureMeta(string dir, RocksDb db, ILogger logger)
    {
        ColumnFamilyHandle meta = db.GetColumnFamily(JournalLayout.MetaFamily);
        if (db.Get(JournalLayout.FormatKey, meta) is not null)
        {
            CheckMeta(dir, db);
            return;
        }

        var info = new JournalMeta
        {
            FormatVersion = JournalLayout.FormatVersion,
            JournalId = Guid.NewGuid(),
            CreatedNs = (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100,
        };
        Span<byte> record = stackalloc byte[RecordLayout.MetaRecordSize];
        RecordCodec.TryEncodeMeta(record, info, out int written);
        Span<byte> format = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(format, JournalLayout.FormatVersion);
        using var batch = new WriteBatch();
        batch.Put(JournalLayout.FormatKey, format, meta);
        batch.Put(JournalLayout.JournalKey, record[..written], meta);
        var sync = new WriteOptions().SetSync(true);
        try
        {
            db.Write(batch, sync);
        }
        catch (RocksDbException e)
        {
            ThrowHelper.ThrowRocksDb(dir, "writing the journal header", e);
        }

        logger.Created(dir, info.JournalId);
    }

    private static void CheckMeta(string dir, RocksDb db)
    {
        ColumnFamilyHandle meta = db.GetColumnFamily(JournalLayout.MetaFamily);
        byte[]? format;
        byte[]? journal;
        try
        {
            format = db.Get(JournalLayout.FormatKey, meta);
            journal = db.Get(JournalLayout.JournalKey, meta);
        }
        catch (RocksDbException e)
        {
            ThrowHelper.ThrowRocksDb(dir, "reading the journal header", e);
            return;
        }

        if (format is null)
        {
            // A creation that died before its header was written holds nothing else either.
            return;
        }

        if (format.Length != 4)
        {
            ThrowHelper.ThrowDamaged(dir, "the format version in meta is damaged");
        }

        uint version = BinaryPrimitives.ReadUInt32LittleEndian(format);
        if (version > JournalLayout.FormatVersion)
        {
            ThrowHelper.ThrowNewerFormat(dir, version);
        }

        if (version == 0)
        {
            ThrowHelper.ThrowDamaged(dir, "the format version in meta is 0");
        }

        if (journal is not null && !RecordCodec.TryDecodeMeta(journal, out _, out DecodeError error))
        {
            ThrowHelper.ThrowDamaged(dir, $"the journal record in meta is damaged ({DecodeErrors.Describe(error)})");
        }
    }

    private ulong ReadLastSeq(ColumnFamilyHandle ops)
    {
        try
        {
            using Iterator it = _db.NewIterator(ops, _readOptions);
            it.SeekToLast();
            if (!it.Valid())
            {
                it.CheckError();
                return 0;
            }

            ReadOnlySpan<byte> key = it.GetKeySpan();
            if (key.Length != JournalLayout.SeqKeySize)
            {
                ThrowHelper.ThrowDamaged(Directory, $"the last key in ops has {key.Length} bytes, not {JournalLayout.SeqKeySize}");
            }

            return JournalLayout.ReadSeqKey(key);
        }
        catch (RocksDbException e)
        {
            ThrowHelper.ThrowRocksDb(Directory, "reading the last sequence number", e);
            return 0;
        }
    }

    private static void TryDeleteDirectory(string path)
    {
        try
        {
            System.IO.Directory.Delete(path, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A leftover in the temp directory is not worth failing a reader for.
        }
    }
}
