// keel-bench: see bench/README.md.
import KeelBenchCore

KeelBenchCommand.main()
