import Foundation

/// `body(i)` for i in 0..<count on `jobs` threads (interleaved, so large and small files mix), in order.
public func parallelMap<T>(_ count: Int, jobs: Int, _ body: (Int) -> T) -> [T] {
    var results = [T?](repeating: nil, count: count)
    let workers = max(1, min(jobs, max(count, 1)))
    results.withUnsafeMutableBufferPointer { slots in
        let base = slots
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var i = worker
            while i < count {
                base[i] = body(i)
                i += workers
            }
        }
    }
    return results.map { $0! }
}
