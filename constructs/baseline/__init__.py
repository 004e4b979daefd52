"""In-cluster baseline (kubernetes provider only): namespaces with their guard rails, and the jobs."""
