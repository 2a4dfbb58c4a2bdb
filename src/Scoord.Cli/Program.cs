using Scoord.Journal;

namespace Scoord.Cli;

internal static class Program
{
    public static int Main(string[] args)
    {
        if (Scoord.Coordinator.Faults.FaultInjection.ConfigurationWarning() is { } warning)
        {
            Console.Error.WriteLine("scoord: warning: " + warning);
        }

        // Every command opens a journal; binding RocksDB's native functions takes most of a cold
        // start, so it runs beside parsing and launch preparation instead of before the open.
        new Thread(JournalStore.PrepareNativeBinding) { IsBackground = true, Name = "scoord-rocksdb-bind" }.Start();
        return new CliApplication(Console.Error).Run(args);
    }
}
