"""Word Count, as conf/wordcount/wordcount.py (same logic): the benchmark's dataShark side."""


def load(batchData, conf):
    words = batchData.flatMap(lambda line: line.split()).map(lambda word: (word.lower(), 1))
    return words.reduceByKey(lambda a, b: a + b)
