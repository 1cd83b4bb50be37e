"""The engine and the plugin machinery: config, plugin loading and registry, rules and features
as kinds of plugin, the run's context, batches, workers, and the gate."""
