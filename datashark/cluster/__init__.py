"""What a run on a cluster needs: data staged on HDFS, the ``--py-files`` archive, authentication."""
