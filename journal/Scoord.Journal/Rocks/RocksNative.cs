using System.Runtime.InteropServices;

namespace Scoord.Journal.Rocks;

/// <summary>
/// The RocksDB C API functions the journal uses, bound at compile time ([LibraryImport] generates the
/// marshalling; nothing is bound at run time). librocksdb comes from the RocksDB package (RocksDbSharp's
/// native assets); its managed binding, which emits a delegate per C function (over two thousand) with
/// Reflection.Emit at first use, cost most of `scoord run`'s start-up (docs/performance.md, "Start-up").
/// One file for the library's functions: they are one C header's, used together by the wrappers here.
/// Every function with an <c>errptr</c> leaves a malloc'd message there on failure (<see cref="Rocks.Check"/>).
/// </summary>
internal static unsafe partial class RocksNative
{
    private const string Lib = "rocksdb";

    // Options
    [LibraryImport(Lib)] internal static partial nint rocksdb_options_create();
    [LibraryImport(Lib)] internal static partial void rocksdb_options_destroy(nint o);
    [LibraryImport(Lib)] internal static partial void rocksdb_options_set_create_if_missing(nint o, byte v);
    [LibraryImport(Lib)] internal static partial void rocksdb_options_set_create_missing_column_families(nint o, byte v);
    [LibraryImport(Lib)] internal static partial void rocksdb_options_set_paranoid_checks(nint o, byte v);
    [LibraryImport(Lib)] internal static partial void rocksdb_options_set_wal_recovery_mode(nint o, int mode);
    [LibraryImport(Lib)] internal static partial void rocksdb_options_set_keep_log_file_num(nint o, nuint n);
    [LibraryImport(Lib)] internal static partial void rocksdb_options_set_max_open_files(nint o, int n);
    [LibraryImport(Lib)] internal static partial void rocksdb_options_set_allow_fallocate(nint o, byte v);
    [LibraryImport(Lib)] internal static partial void rocksdb_options_set_avoid_flush_during_recovery(nint o, int v);
    [LibraryImport(Lib)] internal static partial nint rocksdb_readoptions_create();
    [LibraryImport(Lib)] internal static partial void rocksdb_readoptions_destroy(nint o);
    [LibraryImport(Lib)] internal static partial void rocksdb_readoptions_set_verify_checksums(nint o, byte v);
    [LibraryImport(Lib)] internal static partial nint rocksdb_writeoptions_create();
    [LibraryImport(Lib)] internal static partial void rocksdb_writeoptions_destroy(nint o);
    [LibraryImport(Lib)] internal static partial void rocksdb_writeoptions_set_sync(nint o, byte v);
    [LibraryImport(Lib)] internal static partial nint rocksdb_flushoptions_create();
    [LibraryImport(Lib)] internal static partial void rocksdb_flushoptions_destroy(nint o);
    [LibraryImport(Lib)] internal static partial void rocksdb_flushoptions_set_wait(nint o, byte v);

    // Databases with column families
    [LibraryImport(Lib)]
    internal static partial nint rocksdb_open_column_families(nint options, byte* name, int count, byte** names, nint* cfOptions, nint* handles, nint* errptr);

    [LibraryImport(Lib)]
    internal static partial nint rocksdb_open_for_read_only_column_families(nint options, byte* name, int count, byte** names, nint* cfOptions, nint* handles, byte errorIfWalExists, nint* errptr);

    [LibraryImport(Lib)]
    internal static partial nint rocksdb_open_as_secondary_column_families(nint options, byte* name, byte* secondary, int count, byte** names, nint* cfOptions, nint* handles, nint* errptr);

    [LibraryImport(Lib)]
    internal static partial byte** rocksdb_list_column_families(nint options, byte* name, nuint* count, nint* errptr);

    [LibraryImport(Lib)] internal static partial void rocksdb_list_column_families_destroy(byte** list, nuint count);
    [LibraryImport(Lib)] internal static partial void rocksdb_close(nint db);
    [LibraryImport(Lib)] internal static partial void rocksdb_column_family_handle_destroy(nint cf);
    [LibraryImport(Lib)] internal static partial nint rocksdb_get_cf(nint db, nint ro, nint cf, byte* key, nuint keylen, nuint* vallen, nint* errptr);
    [LibraryImport(Lib)] internal static partial nint rocksdb_get_pinned_cf(nint db, nint ro, nint cf, byte* key, nuint keylen, nint* errptr);
    [LibraryImport(Lib)] internal static partial byte* rocksdb_pinnableslice_value(nint slice, nuint* vallen);
    [LibraryImport(Lib)] internal static partial void rocksdb_pinnableslice_destroy(nint slice);
    [LibraryImport(Lib)] internal static partial void rocksdb_put_cf(nint db, nint wo, nint cf, byte* key, nuint keylen, byte* val, nuint vallen, nint* errptr);
    [LibraryImport(Lib)] internal static partial void rocksdb_write(nint db, nint wo, nint batch, nint* errptr);
    [LibraryImport(Lib)] internal static partial void rocksdb_flush_wal(nint db, byte sync, nint* errptr);
    [LibraryImport(Lib)] internal static partial void rocksdb_flush_cf(nint db, nint fo, nint cf, nint* errptr);
    [LibraryImport(Lib)] internal static partial void rocksdb_compact_range_cf(nint db, nint cf, byte* start, nuint startlen, byte* limit, nuint limitlen);
    [LibraryImport(Lib)] internal static partial void rocksdb_try_catch_up_with_primary(nint db, nint* errptr);
    [LibraryImport(Lib)] internal static partial void rocksdb_free(nint p);

    // Write batches
    [LibraryImport(Lib)] internal static partial nint rocksdb_writebatch_create();
    [LibraryImport(Lib)] internal static partial void rocksdb_writebatch_destroy(nint b);
    [LibraryImport(Lib)] internal static partial void rocksdb_writebatch_clear(nint b);
    [LibraryImport(Lib)] internal static partial void rocksdb_writebatch_set_save_point(nint b);
    [LibraryImport(Lib)] internal static partial void rocksdb_writebatch_rollback_to_save_point(nint b, nint* errptr);
    [LibraryImport(Lib)] internal static partial void rocksdb_writebatch_pop_save_point(nint b, nint* errptr);
    [LibraryImport(Lib)] internal static partial void rocksdb_writebatch_put_cf(nint b, nint cf, byte* key, nuint klen, byte* val, nuint vlen);
    [LibraryImport(Lib)] internal static partial void rocksdb_writebatch_delete_cf(nint b, nint cf, byte* key, nuint klen);
    [LibraryImport(Lib)] internal static partial void rocksdb_writebatch_delete_range_cf(nint b, nint cf, byte* start, nuint startlen, byte* end, nuint endlen);

    // Iterators
    [LibraryImport(Lib)] internal static partial nint rocksdb_create_iterator_cf(nint db, nint ro, nint cf);
    [LibraryImport(Lib)] internal static partial void rocksdb_iter_destroy(nint it);
    [LibraryImport(Lib)] internal static partial byte rocksdb_iter_valid(nint it);
    [LibraryImport(Lib)] internal static partial void rocksdb_iter_seek_to_first(nint it);
    [LibraryImport(Lib)] internal static partial void rocksdb_iter_seek_to_last(nint it);
    [LibraryImport(Lib)] internal static partial void rocksdb_iter_seek(nint it, byte* key, nuint klen);
    [LibraryImport(Lib)] internal static partial void rocksdb_iter_next(nint it);
    [LibraryImport(Lib)] internal static partial void rocksdb_iter_prev(nint it);
    [LibraryImport(Lib)] internal static partial byte* rocksdb_iter_key(nint it, nuint* klen);
    [LibraryImport(Lib)] internal static partial byte* rocksdb_iter_value(nint it, nuint* vlen);
    [LibraryImport(Lib)] internal static partial void rocksdb_iter_get_error(nint it, nint* errptr);
}
