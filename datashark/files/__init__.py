"""Files on the driver's disk and on HDFS: private folders, WebHDFS, state files, and the folder
stream of ``input = file``."""
