namespace Scoord.Cli;

internal static class Program
{
    public static int Main(string[] args)
    {
        if (Scoord.Coordinator.Faults.FaultInjection.ConfigurationWarning() is { } warning)
        {
            Console.Error.WriteLine("scoord: warning: " + warning);
        }

        // librocksdb is loaded by the first journal call, on this thread. It used to be loaded on a thread of
        // its own, beside parsing; a `scoord checkpoint` under heavy load then stood still for 3 minutes with
        // that thread still loading and the main thread running (docs/reliability.md, defect (14)). The
        // binding is compile-time now, so the overlap saved little.
        return new CliApplication(Console.Error).Run(args);
    }
}
