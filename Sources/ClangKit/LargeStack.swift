#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs work on a thread with a large stack. libclang parses and evaluates recursively, and so do
/// the walks over a function's tree: 10,000 nested operators overflow an ordinary thread's stack
/// (8 MiB main, 512 KiB for a dispatch worker) and kill the whole process. The stack is only
/// reserved address space; pages are touched as the recursion goes.
public enum LargeStack {
    /// 1 GiB: enough for a few hundred thousand levels of libclang's parser.
    public static let bytes = 1 << 30

    private final class Work {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    /// `body` on a fresh large-stack thread; the caller waits for it.
    public static func run<T>(_ body: () -> T) -> T {
        var result: T?
        withoutActuallyEscaping(body) { body in
            let work = Unmanaged.passRetained(Work { result = body() })
            var attributes = pthread_attr_t()
            pthread_attr_init(&attributes)
            defer { pthread_attr_destroy(&attributes) }
            pthread_attr_setstacksize(&attributes, bytes)
            #if canImport(Glibc)
            var thread = pthread_t()
            let started = pthread_create(&thread, &attributes, { argument in
                Unmanaged<Work>.fromOpaque(argument!).takeRetainedValue().run()
                return nil
            }, work.toOpaque())
            if started == 0 { pthread_join(thread, nil) }
            #else
            var thread: pthread_t?
            let started = pthread_create(&thread, &attributes, { argument in
                Unmanaged<Work>.fromOpaque(argument).takeRetainedValue().run()
                return nil
            }, work.toOpaque())
            if started == 0, let thread { pthread_join(thread, nil) }
            #endif
            if started != 0 {
                // No thread to be had (resource limits): run here, with the stack there is.
                work.takeRetainedValue().run()
            }
        }
        return result!
    }
}
